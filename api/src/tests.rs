//! The API's router in-process (`tower::ServiceExt::oneshot`, no TLS or socket), over a store
//! in a temporary directory: discovery against the routes, watches of every kind seeing every
//! commit (the API's own included), dry runs, DeleteOptions from the query, pages, and
//! malformed requests answered with `Status` objects. No controller runs: writes of "the
//! controller" are made through a store connection of the test's own.

use super::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;
use wasmjob_control::resources::RESOURCES;

const TOKEN: &str = "test-token";

struct Api {
    router: Router,
    dir: PathBuf,
}

impl Drop for Api {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An answer: status, content type, body.
struct Answer {
    status: StatusCode,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// The JSON lines of a watch.
    fn events(&self) -> Vec<Value> {
        self.body
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

impl Api {
    fn new() -> Api {
        let dir = std::env::temp_dir().join(format!("wasmjob-api-{}", uuid::Uuid::new_v4()));
        let images = dir.join("images");
        std::fs::create_dir_all(&images).unwrap();
        let module = wat::parse_str(r#"(module (func (export "_start")))"#).unwrap();
        std::fs::write(images.join("task.wasm"), module).unwrap();
        let state = dir.join("state");
        let store = Store::open(&state).unwrap();
        let router = router(
            store,
            ApiConfig {
                token: TOKEN.into(),
                sandbox: Arc::new(Sandbox::new().unwrap()),
                image_dir: images,
            },
        );
        Api { router, dir }
    }

    /// A connection of the test's own, as the controller or the CLI has.
    fn store(&self) -> Store {
        Store::open(&self.dir.join("state")).unwrap()
    }

    async fn send(&self, method: Method, path: &str, body: Option<(&str, String)>) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {TOKEN}"));
        let body = match body {
            Some((content_type, text)) => {
                request = request.header("content-type", content_type);
                Body::from(text)
            }
            None => Body::empty(),
        };
        let response = self
            .router
            .clone()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 16 << 20)
            .await
            .unwrap();
        Answer {
            status,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None).await
    }

    /// Creates Job `name` through the API; returns it as stored.
    async fn create_job(&self, name: &str) -> Value {
        let job = json!({
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"template": {"spec": {"restartPolicy": "Never",
                "containers": [{"name": "c", "image": "task.wasm"}]}}}
        });
        let a = self
            .send(
                Method::POST,
                "/apis/batch/v1/namespaces/default/jobs",
                Some(("application/json", job.to_string())),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        a.json()
    }

    /// Stores `count` pods of Job `job` (as its controller would).
    fn add_pods(&self, job: &Value, count: usize) {
        let mut store = self.store();
        let mut batch = store.batch().unwrap();
        let name = job["metadata"]["name"].as_str().unwrap();
        let uid = job["metadata"]["uid"].as_str().unwrap();
        for i in 0..count {
            let mut pod: wasmjob_spec::Pod = serde_json::from_value(json!({
                "metadata": {"name": format!("{name}-{i}"), "namespace": "default",
                    "uid": uuid::Uuid::new_v4().to_string(),
                    "labels": {"batch.kubernetes.io/job-name": name},
                    "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": name,
                        "uid": uid, "controller": true, "blockOwnerDeletion": true}]},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "task.wasm"}]},
                "status": {"phase": "Succeeded"}
            }))
            .unwrap();
            batch.put_pod(&mut pod, uid, false).unwrap();
        }
        batch.commit().unwrap();
    }
}

/// The routes of a resource: its collection (namespaced or not) and one item.
fn paths(r: &wasmjob_control::resources::Resource) -> (String, String) {
    let base = if r.group_version == "v1" {
        "/api/v1".to_string()
    } else {
        format!("/apis/{}", r.group_version)
    };
    let (plural, sub) = match r.name.split_once('/') {
        Some((p, s)) => (p, Some(s)),
        None => (r.name, None),
    };
    let collection = if r.namespaced {
        format!("{base}/namespaces/default/{plural}")
    } else {
        format!("{base}/{plural}")
    };
    let mut item = format!("{collection}/no-such-object");
    if let Some(s) = sub {
        item.push('/');
        item.push_str(s);
    }
    (collection, item)
}

/// Whether an answer says the route is served: not the router's own 404 nor a 405.
fn served(a: &Answer) -> bool {
    if a.status == StatusCode::METHOD_NOT_ALLOWED {
        return false;
    }
    if a.status == StatusCode::NOT_FOUND {
        // An object that is not there names itself; a path that is not served does not.
        return a.json().get("details").is_some();
    }
    true
}

/// Issue 16: discovery's verbs say exactly what is served — every listed verb answers, and
/// every verb not listed is refused.
#[tokio::test]
async fn discovery_lists_exactly_the_verbs_that_are_served() {
    let api = Api::new();
    for r in RESOURCES {
        let (collection, item) = paths(r);
        let mut answered = Vec::new();
        let body = || Some(("application/json", "{}".to_string()));
        let merge = || Some(("application/merge-patch+json", "{}".to_string()));
        for verb in [
            "get",
            "list",
            "watch",
            "create",
            "update",
            "patch",
            "delete",
            "deletecollection",
        ] {
            let ok = match verb {
                "get" => served(&api.get(&item).await),
                "list" => {
                    let a = api.get(&collection).await;
                    served(&a) && a.status == StatusCode::OK && !r.name.contains('/')
                }
                "watch" => {
                    let a = api
                        .get(&format!("{collection}?watch=true&timeoutSeconds=0"))
                        .await;
                    // A stream of events, not a list.
                    served(&a)
                        && a.status == StatusCode::OK
                        && !r.name.contains('/')
                        && a.body.lines().all(|l| {
                            serde_json::from_str::<Value>(l).is_ok_and(|e| e.get("type").is_some())
                        })
                }
                "create" => {
                    !r.name.contains('/')
                        && served(&api.send(Method::POST, &collection, body()).await)
                }
                "update" => served(&api.send(Method::PUT, &item, body()).await),
                "patch" => served(&api.send(Method::PATCH, &item, merge()).await),
                "delete" => served(&api.send(Method::DELETE, &item, None).await),
                "deletecollection" => {
                    !r.name.contains('/')
                        && served(&api.send(Method::DELETE, &collection, None).await)
                }
                _ => unreachable!(),
            };
            if ok {
                answered.push(verb);
            }
        }
        let mut listed: Vec<&str> = r.verbs.to_vec();
        listed.sort();
        answered.sort();
        assert_eq!(answered, listed, "{} ({collection})", r.name);
    }
}

/// Issue 16, item 1: a label set through the API reaches an open watch (SQLite's
/// `data_version` did not move for the API's own commits).
#[tokio::test]
async fn a_watch_sees_writes_made_through_the_api_itself() {
    let api = Api::new();
    let job = api.create_job("x").await;
    let rv: i64 = job["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let path = format!(
        "/apis/batch/v1/namespaces/default/jobs?watch=true&resourceVersion={rv}&timeoutSeconds=2"
    );
    let watching = api.get(&path);
    let labelling = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let a = api
            .send(
                Method::PATCH,
                "/apis/batch/v1/namespaces/default/jobs/x",
                Some((
                    "application/merge-patch+json",
                    r#"{"metadata":{"labels":{"ready":"yes"}}}"#.into(),
                )),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    };
    let (watched, ()) = tokio::join!(watching, labelling);
    let events = watched.events();
    assert_eq!(events.len(), 1, "{}", watched.body);
    assert_eq!(events[0]["type"], "MODIFIED");
    assert_eq!(events[0]["object"]["metadata"]["labels"]["ready"], "yes");
}

/// A watch of pods follows what changes after its first look (only the pods written since
/// are listed at each later look): a pod entering the filter is `ADDED`, one changing inside
/// it `MODIFIED`, one leaving it or deleted `DELETED`, and pods outside it send nothing.
#[tokio::test]
async fn a_watch_of_pods_follows_changes_in_and_out_of_its_filter() {
    let api = Api::new();
    let job = api.create_job("w").await;
    api.add_pods(&job, 3);
    let uid = job["metadata"]["uid"].as_str().unwrap().to_string();
    let path = "/api/v1/namespaces/default/pods?watch=true&fieldSelector=status.phase%3DRunning&timeoutSeconds=3";
    let watching = api.get(path);
    let changing = async {
        let put = |name: &str, phase: &str| {
            let mut store = api.store();
            let mut pod = store.get_pod("default", name).unwrap().unwrap();
            pod.status.phase = Some(phase.into());
            pod.status.message = Some(format!("now {phase}"));
            let mut batch = store.batch().unwrap();
            batch.put_pod(&mut pod, &uid, false).unwrap();
            batch.commit().unwrap();
        };
        for (name, phase) in [
            ("w-0", "Running"),
            ("w-1", "Running"),
            ("w-2", "Failed"),
            ("w-1", "Running"),
            ("w-0", "Succeeded"),
        ] {
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            put(name, phase);
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        let mut store = api.store();
        let gone = store.get_pod("default", "w-1").unwrap().unwrap();
        let mut batch = store.batch().unwrap();
        batch.delete_pod(gone.metadata.uid()).unwrap();
        batch.commit().unwrap();
    };
    let (watched, ()) = tokio::join!(watching, changing);
    let events: Vec<(String, String, String)> = watched
        .events()
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_string(),
                e["object"]["metadata"]["name"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                e["object"]["status"]["phase"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String, String)> = [
        ("ADDED", "w-0", "Running"),
        ("ADDED", "w-1", "Running"),
        ("MODIFIED", "w-1", "Running"),
        ("DELETED", "w-0", "Succeeded"),
        ("DELETED", "w-1", "Running"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(events, want, "{}", watched.body);
}

/// Issue 16, item 2: events, and namespaces, are watched like Jobs and Pods, as Tables too.
#[tokio::test]
async fn events_and_namespaces_can_be_watched() {
    let api = Api::new();
    let watch_events = api.get("/api/v1/namespaces/default/events?watch=true&timeoutSeconds=2");
    let watch_table = async {
        let request = Request::builder()
            .uri("/api/v1/events?watch=1&timeoutSeconds=2")
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
            .body(Body::empty())
            .unwrap();
        let response = api.router.clone().oneshot(request).await.unwrap();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let watch_namespaces = api.get("/api/v1/namespaces?watch=true&timeoutSeconds=2");
    let writing = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let mut store = api.store();
        let mut batch = store.batch().unwrap();
        batch
            .add_event(&wasmjob_control::store::EventRecord {
                namespace: "default".into(),
                kind: "Job".into(),
                name: "x".into(),
                uid: "u".into(),
                type_: "Normal".into(),
                reason: "SuccessfulCreate".into(),
                message: "Created pod: x-1".into(),
                time: wasmjob_spec::Time(jiff::Timestamp::now()),
            })
            .unwrap();
        batch.commit().unwrap();
        let a = api
            .send(
                Method::POST,
                "/api/v1/namespaces",
                Some((
                    "application/json",
                    r#"{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"team"}}"#.into(),
                )),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    };
    let (events, table, namespaces, ()) =
        tokio::join!(watch_events, watch_table, watch_namespaces, writing);
    let events = events.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["type"], "ADDED");
    assert_eq!(events[0]["object"]["reason"], "SuccessfulCreate");
    assert_eq!(events[0]["object"]["involvedObject"]["name"], "x");
    let name = events[0]["object"]["metadata"]["name"].as_str().unwrap();
    assert!(name.starts_with("x."), "{name}");
    // The same event can be read by its name.
    let one = api
        .get(&format!("/api/v1/namespaces/default/events/{name}"))
        .await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.body);
    assert_eq!(one.json()["message"], "Created pod: x-1");
    let table: Vec<Value> = table
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(table.len(), 1, "{table:?}");
    assert_eq!(table[0]["object"]["kind"], "Table");
    assert_eq!(
        table[0]["object"]["rows"][0]["cells"][2],
        "SuccessfulCreate"
    );
    assert_eq!(table[0]["object"]["rows"][0]["cells"][3], "job/x");
    let namespaces = namespaces.events();
    let kinds: Vec<(&str, &str)> = namespaces
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap(),
                e["object"]["metadata"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(kinds, [("ADDED", "default"), ("ADDED", "team")]);
}

/// Issue 16, item 3: a server-side dry run returns what the write would store — the new
/// generation included — and stores nothing.
#[tokio::test]
async fn a_dry_run_returns_exactly_what_the_write_would_store() {
    let api = Api::new();
    let job = api.create_job("x").await;
    assert_eq!(job["metadata"]["generation"], 1);
    let patch = || {
        Some((
            "application/merge-patch+json",
            r#"{"spec":{"parallelism":3}}"#.to_string(),
        ))
    };
    let path = "/apis/batch/v1/namespaces/default/jobs/x";
    let dry = api
        .send(Method::PATCH, &format!("{path}?dryRun=All"), patch())
        .await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.body);
    let dry = dry.json();
    assert_eq!(dry["metadata"]["generation"], 2);
    assert_eq!(dry["spec"]["parallelism"], 3);
    assert_eq!(
        dry["metadata"]["resourceVersion"], job["metadata"]["resourceVersion"],
        "nothing was stored"
    );
    let stored = api.get(path).await.json();
    assert_eq!(stored["metadata"]["generation"], 1);
    assert_eq!(stored["spec"]["parallelism"], 1);
    let real = api.send(Method::PATCH, path, patch()).await.json();
    let mut without_version = real.clone();
    without_version["metadata"]["resourceVersion"] = dry["metadata"]["resourceVersion"].clone();
    assert_eq!(
        without_version, dry,
        "the dry run answered what the write stored"
    );
    // A dry-run create of a taken name is refused as the real one is.
    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "x"},
        "spec": {"template": {"spec": {"restartPolicy": "Never",
            "containers": [{"name": "c", "image": "task.wasm"}]}}}});
    let a = api
        .send(
            Method::POST,
            "/apis/batch/v1/namespaces/default/jobs?dryRun=All",
            Some(("application/json", job.to_string())),
        )
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
    assert_eq!(a.json()["reason"], "AlreadyExists");
    // A dry-run delete answers the Job marked, and leaves it.
    let a = api
        .send(
            Method::DELETE,
            &format!("{path}?dryRun=All&propagationPolicy=Background"),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(
        a.json()["metadata"]["deletionTimestamp"].is_string(),
        "{}",
        a.body
    );
    let stored = api.get(path).await.json();
    assert!(stored["metadata"].get("deletionTimestamp").is_none());
}

/// Issue 16, item 4: `?propagationPolicy=Background` with no body (what client-node sends)
/// removes the pods; the Job API's default, Orphan, keeps them.
#[tokio::test]
async fn delete_options_in_the_query_are_obeyed() {
    let api = Api::new();
    let kept = api.create_job("kept").await;
    api.add_pods(&kept, 2);
    let gone = api.create_job("gone").await;
    api.add_pods(&gone, 2);
    let pods = |api: &Api, job: &str| {
        api.store()
            .list_pods(None)
            .unwrap()
            .into_iter()
            .filter(|p| p.metadata.name().starts_with(&format!("{job}-")))
            .count()
    };
    assert_eq!((pods(&api, "kept"), pods(&api, "gone")), (2, 2));
    let a = api
        .send(
            Method::DELETE,
            "/apis/batch/v1/namespaces/default/jobs/gone?propagationPolicy=Background",
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let a = api
        .send(
            Method::DELETE,
            "/apis/batch/v1/namespaces/default/jobs/kept",
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(pods(&api, "gone"), 0, "Background removes the pods");
    assert_eq!(pods(&api, "kept"), 2, "Orphan, the default, keeps them");
    assert!(api.store().list_jobs(None).unwrap().is_empty());
    // A precondition that fails deletes nothing.
    let job = api.create_job("held").await;
    let a = api
        .send(
            Method::DELETE,
            "/apis/batch/v1/namespaces/default/jobs/held",
            Some((
                "application/json",
                json!({"kind": "DeleteOptions", "preconditions": {"uid": "someone-else"}})
                    .to_string(),
            )),
        )
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
    assert!(a.json()["message"].as_str().unwrap().contains(&format!(
        "UID in precondition: someone-else, UID in object meta: {}",
        job["metadata"]["uid"].as_str().unwrap()
    )));
    assert_eq!(api.store().list_jobs(None).unwrap().len(), 1);
}

/// `limit` and `continue` page a list, in the order of names.
#[tokio::test]
async fn lists_come_in_pages() {
    let api = Api::new();
    for name in ["c", "a", "b"] {
        api.create_job(name).await;
    }
    let names = |list: &Value| -> Vec<String> {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    let first = api
        .get("/apis/batch/v1/namespaces/default/jobs?limit=2")
        .await
        .json();
    assert_eq!(names(&first), ["a", "b"]);
    assert_eq!(first["metadata"]["remainingItemCount"], 1);
    let token = first["metadata"]["continue"].as_str().unwrap();
    let second = api
        .get(&format!(
            "/apis/batch/v1/namespaces/default/jobs?limit=2&continue={token}"
        ))
        .await
        .json();
    assert_eq!(names(&second), ["c"]);
    assert!(second["metadata"].get("continue").is_none());
    let all = api.get("/apis/batch/v1/jobs").await.json();
    assert_eq!(names(&all), ["a", "b", "c"]);
}

/// Malformed queries and option values are `Status` objects with the API server's codes.
#[tokio::test]
async fn malformed_requests_get_a_status() {
    let api = Api::new();
    api.create_job("x").await;
    api.create_job("y").await;
    for (method, path, code) in [
        (
            Method::GET,
            "/apis/batch/v1/namespaces/default/jobs?limit=many",
            400,
        ),
        (
            Method::GET,
            "/apis/batch/v1/jobs?timeoutSeconds=x&watch=1",
            400,
        ),
        (Method::GET, "/apis/batch/v1/jobs?continue=garbage", 400),
        (
            Method::GET,
            "/apis/batch/v1/jobs?resourceVersionMatch=Exact",
            422,
        ),
        (
            Method::GET,
            "/apis/batch/v1/jobs?resourceVersion=999&resourceVersionMatch=NotOlderThan",
            504,
        ),
        (
            Method::GET,
            "/apis/batch/v1/jobs?resourceVersion=1&resourceVersionMatch=Exact",
            410,
        ),
        (
            Method::DELETE,
            "/apis/batch/v1/namespaces/default/jobs/x?propagationPolicy=Up",
            422,
        ),
        (
            Method::DELETE,
            "/apis/batch/v1/namespaces/default/jobs/x?gracePeriodSeconds=x",
            400,
        ),
        (
            Method::PATCH,
            "/apis/batch/v1/namespaces/default/jobs/x?dryRun=Maybe",
            400,
        ),
        (
            Method::GET,
            "/api/v1/namespaces/default/pods/x/log?tailLines=ten",
            400,
        ),
    ] {
        let a = api.send(method.clone(), path, None).await;
        assert_eq!(a.status.as_u16(), code, "{method} {path}: {}", a.body);
        let status = a.json();
        assert_eq!(status["kind"], "Status", "{path}");
        assert_eq!(status["code"], code, "{path}");
    }
    assert_eq!(
        api.store().list_jobs(None).unwrap().len(),
        2,
        "nothing was deleted"
    );
}

/// A watch of pods resumed from a list's resourceVersion hears of the pods that went with
/// their Job since (kubectl delete lists, then watches).
#[tokio::test]
async fn a_resumed_watch_hears_of_pods_deleted_with_their_job() {
    let api = Api::new();
    let job = api.create_job("x").await;
    api.add_pods(&job, 2);
    let listed = api.get("/api/v1/namespaces/default/pods").await.json();
    let rv = listed["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    let a = api
        .send(
            Method::DELETE,
            "/apis/batch/v1/namespaces/default/jobs/x?propagationPolicy=Background",
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let watched = api
        .get(&format!(
            "/api/v1/namespaces/default/pods?watch=1&resourceVersion={rv}&timeoutSeconds=0&labelSelector=batch.kubernetes.io/job-name%3Dx"
        ))
        .await;
    let events: Vec<(String, String)> = watched
        .events()
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_string(),
                e["object"]["metadata"]["name"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            ("DELETED".to_string(), "x-0".to_string()),
            ("DELETED".to_string(), "x-1".to_string())
        ]
    );
}

/// Issue 17: a malformed body, path or size gets a `Status` with the API server's code, never
/// axum's plain text or a 500.
#[tokio::test]
async fn malformed_bodies_paths_and_sizes_get_a_status() {
    let api = Api::new();
    api.create_job("x").await;
    let jobs = "/apis/batch/v1/namespaces/default/jobs";
    let huge = format!("{{\"kind\":\"Job\",\"pad\":\"{}\"}}", "x".repeat(3 << 20));
    for (method, path, body, code, reason) in [
        (Method::POST, jobs.to_string(), Some(("application/json", "{not json".to_string())), 400, "BadRequest"),
        (Method::POST, jobs.to_string(), Some(("application/json", r#"{"kind":"Job","apiVersion":"batch/v1","metadata":{"name":"y"},"spec":{"parallelism":-1,"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"task.wasm"}]}}}}"#.to_string())), 422, "Invalid"),
        (Method::POST, jobs.to_string(), Some(("text/plain", "hello".to_string())), 415, "UnsupportedMediaType"),
        (Method::POST, jobs.to_string(), Some(("application/json", huge)), 413, "RequestEntityTooLarge"),
        (Method::PATCH, format!("{jobs}/x"), Some(("application/bogus-patch", "{}".to_string())), 415, "UnsupportedMediaType"),
        (Method::PATCH, format!("{jobs}/x"), Some(("application/json-patch+json", "{}".to_string())), 400, "BadRequest"),
        (Method::GET, "/api/v1/namespaces/%FF%FE/pods".to_string(), None, 400, "BadRequest"),
        (Method::GET, "/apis/batch/v1/namespaces/default/jobs/x/nonsense".to_string(), None, 404, "NotFound"),
        (Method::PUT, "/api/v1/namespaces/default/pods/x".to_string(), Some(("application/json", "{}".to_string())), 405, "MethodNotAllowed"),
    ] {
        let a = api.send(method.clone(), &path, body).await;
        let shown = &path[..path.len().min(80)];
        assert_eq!(a.status.as_u16(), code, "{method} {shown}: {}", &a.body[..a.body.len().min(300)]);
        let status = a.json();
        assert_eq!(status["kind"], "Status", "{method} {shown}");
        assert_eq!(status["code"], code, "{method} {shown}");
        assert_eq!(status["reason"], reason, "{method} {shown}: {status}");
        assert!(status["message"].as_str().is_some_and(|m| !m.is_empty()), "{status}");
    }
    let stored = api.store().list_jobs(None).unwrap();
    assert_eq!(stored.len(), 1, "nothing was created");
}

/// Issue 17: the OpenAPI documents' paths are the router's — every operation they list is
/// served (a refused one, marked 405, is refused), and every verb discovery lists has its
/// operation there.
#[tokio::test]
async fn the_openapi_paths_are_the_routes() {
    let api = Api::new();
    let mut documented: Vec<(String, String)> = Vec::new();
    for doc in ["/openapi/v3/api/v1", "/openapi/v3/apis/batch/v1"] {
        let a = api.get(doc).await;
        assert_eq!(a.status, StatusCode::OK, "{doc}");
        let paths = a.json()["paths"].as_object().unwrap().clone();
        for (path, item) in &paths {
            let concrete = path
                .replace("{namespace}", "default")
                .replace("{name}", "no-such-object");
            for (method, op) in item.as_object().unwrap() {
                let Ok(m) = method.to_uppercase().parse::<Method>() else {
                    continue;
                };
                if m == Method::OPTIONS || method == "parameters" {
                    continue;
                }
                let body = match m {
                    Method::GET | Method::DELETE => None,
                    Method::PATCH => Some(("application/merge-patch+json", "{}".to_string())),
                    _ => Some(("application/json", "{}".to_string())),
                };
                let a = api.send(m.clone(), &concrete, body).await;
                let refused = op["responses"].get("405").is_some();
                if refused {
                    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
                } else {
                    assert!(
                        served(&a),
                        "{method} {path} is documented, not served: {}",
                        a.body
                    );
                }
                documented.push((method.clone(), path.clone()));
            }
        }
    }
    for r in RESOURCES {
        let (collection, item) = paths(r);
        let template = |p: &str| {
            p.replace("/namespaces/default/", "/namespaces/{namespace}/")
                .replace("no-such-object", "{name}")
        };
        let (collection, item) = (template(&collection), template(&item));
        for verb in r.verbs {
            let (method, path) = match *verb {
                "list" | "watch" => ("get", collection.clone()),
                "create" => ("post", collection.clone()),
                "get" => ("get", item.clone()),
                "update" => ("put", item.clone()),
                "patch" => ("patch", item.clone()),
                "delete" => ("delete", item.clone()),
                other => panic!("verb {other}"),
            };
            let path = if r.name == "namespaces" && path.ends_with("/{name}") {
                "/api/v1/namespaces/{name}".to_string()
            } else {
                path
            };
            assert!(
                documented.contains(&(method.to_string(), path.clone())),
                "{} {verb}: {method} {path} is not in the OpenAPI documents",
                r.name
            );
        }
    }
}
