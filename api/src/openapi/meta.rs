//! The schemas of `meta/v1` (`io.k8s.apimachinery.pkg.apis.meta.v1.*`): object and list
//! metadata, times, label selectors, owner references, and the bodies around requests
//! (`Status`, `DeleteOptions`, `Patch`, `WatchEvent`), with the fields wasmjob reads and writes.
//!
//! Must not: describe Jobs or Pods (that is `batch` and `core`).

use super::Schemas;
use super::schema::*;

pub const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
pub const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
pub const TIME: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Time";
pub const LABEL_SELECTOR: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector";
const LABEL_SELECTOR_REQUIREMENT: &str =
    "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement";
const OWNER_REFERENCE: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference";
pub const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
const STATUS_DETAILS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.StatusDetails";
const STATUS_CAUSE: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.StatusCause";
pub const DELETE_OPTIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
pub const PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
pub const WATCH_EVENT: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent";
pub const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";

/// The group versions served: the request bodies of `meta/v1` are accepted in each.
const SERVED: [(&str, &str); 2] = [("", "v1"), ("batch", "v1")];

fn in_every_group(kind: &'static str) -> Vec<Gvk> {
    SERVED
        .iter()
        .map(|(group, version)| Gvk {
            group,
            version,
            kind,
        })
        .collect()
}

/// `apiVersion` and `kind`, as every object and list has them.
pub fn type_fields(api_version: &str, kind: &str) -> Vec<(&'static str, Schema)> {
    vec![
        (
            "apiVersion",
            string(&format!(
                "The version of the schema the object is written in: `{api_version}`."
            )),
        ),
        (
            "kind",
            string(&format!("The kind of the object: `{kind}`.")),
        ),
    ]
}

pub fn add(all: &mut Schemas) {
    all.insert(
        TIME,
        string(
            "A moment, written in RFC 3339 in UTC (`2026-11-23T10:36:17Z`). wasmjob keeps \
             fractions of a second where it has them; every RFC 3339 reader accepts both forms.",
        )
        .format("date-time")
        .0,
    );
    all.insert(
        QUANTITY,
        serde_json::json!({
            "description": "An amount such as `64Mi`, `1G`, `500m`, `2` or `1e3`, written as a \
                string or a number: a decimal number followed by an optional suffix, `m` \
                (thousandths), `k`, `M`, `G`, `T`, `P`, `E` (powers of 1000), `Ki`, `Mi`, `Gi`, \
                `Ti`, `Pi`, `Ei` (powers of 1024), or an exponent (`e3`). Memory is rounded up \
                to whole bytes. wasmjob needs quantities to fit in 64 bits (bytes; cpu in \
                thousandths of a core).",
            "x-kubernetes-int-or-string": true,
            "anyOf": [{"type": "integer"}, {"type": "string"}],
        }),
    );
    all.insert(OBJECT_META, object_meta().0);
    all.insert(
        LIST_META,
        object(
            "What a list carries besides its items.",
            vec![(
                "resourceVersion",
                string(
                    "The version of the store when the list was read. A watch started from it \
                     first sends what changed since.",
                ),
            )],
        )
        .0,
    );
    all.insert(LABEL_SELECTOR, label_selector().0);
    all.insert(LABEL_SELECTOR_REQUIREMENT, label_selector_requirement().0);
    all.insert(OWNER_REFERENCE, owner_reference().0);
    all.insert(STATUS, status().0);
    all.insert(STATUS_DETAILS, status_details().0);
    all.insert(STATUS_CAUSE, status_cause().0);
    all.insert(DELETE_OPTIONS, delete_options().0);
    all.insert(
        PATCH,
        serde_json::json!({
            "description": "The body of a PATCH: a JSON patch (RFC 6902), a JSON merge patch \
                (RFC 7386) or a strategic merge patch, as the request's Content-Type says.",
        }),
    );
    all.insert(WATCH_EVENT, watch_event().0);
}

fn object_meta() -> Schema {
    object(
        "The metadata every object carries: its name and namespace, labels and annotations, \
         and what wasmjob records about it (uid, version, creation and deletion).",
        vec![
            (
                "name",
                string(
                    "The object's name, unique among the objects of its kind in its namespace. \
                     A Job's name must be a DNS subdomain name (a DNS label is better: its pods \
                     and their hostnames are named after it).",
                ),
            ),
            (
                "generateName",
                string(
                    "When `name` is empty, a prefix to which wasmjob adds five random \
                     characters to make the name, so that creating one manifest twice makes \
                     two objects.",
                ),
            ),
            (
                "namespace",
                string("The namespace the object lives in (`default` when unset)."),
            ),
            (
                "uid",
                string(
                    "Set by wasmjob when the object is stored: unique across all objects and \
                     times, never reused. Read-only.",
                ),
            ),
            (
                "resourceVersion",
                string(
                    "The object's version in the store, an opaque string that changes with \
                     every change. A write that carries it must carry the stored one, or it is \
                     refused as a Conflict. Read-only.",
                ),
            ),
            (
                "generation",
                int64("How many times the object's desired state has changed. Read-only."),
            ),
            (
                "creationTimestamp",
                of(TIME, "When the object was stored. Read-only."),
            ),
            (
                "deletionTimestamp",
                of(
                    TIME,
                    "When the object was marked for deletion. It goes once its controller has \
                     stopped and removed what it owns (a Job's pods, unless they are orphaned). \
                     Read-only.",
                ),
            ),
            (
                "deletionGracePeriodSeconds",
                int64("The seconds the object was given to end when it was marked. Read-only."),
            ),
            (
                "labels",
                string_map(
                    "Key-value pairs that group and select objects (label selectors, \
                     `kubectl get -l`). The pods of a Job carry its template's labels plus \
                     `batch.kubernetes.io/job-name` and `batch.kubernetes.io/controller-uid`.",
                ),
            ),
            (
                "annotations",
                string_map(
                    "Key-value pairs for tools and people, never used to select. wasmjob's own \
                     settings are annotations under `wasmjob.dev/`, so that a manifest stays \
                     valid Kubernetes: on a pod template, `wasmjob.dev/fuel` and \
                     `wasmjob.dev/fuel.<container>` (fuel budgets of a container run) and \
                     `wasmjob.dev/module.<container>` (a module that replaces `image`); on a \
                     Job, `wasmjob.dev/items-file` (a file of work-queue items, one a line).",
                ),
            ),
            (
                "ownerReferences",
                list_of(
                    OWNER_REFERENCE,
                    "The objects this one belongs to. The pods of a Job name it here as their \
                     controller; deleting the Job with propagation `Background` or \
                     `Foreground` removes them with it.",
                )
                .merged_by("uid", "merge")
                .keyed_by(&["uid"]),
            ),
            (
                "finalizers",
                strings(
                    "Names that must be cleared before a marked object is removed. A pod \
                     carries `batch.kubernetes.io/job-tracking` until its Job has counted it.",
                )
                .list_type("set")
                .merged(),
            ),
            (
                "managedFields",
                opaque_list(
                    "Server-side apply's record of who set which field, as a cluster writes \
                     it. Accepted, so that the output of `kubectl get -o yaml` can be sent \
                     back, and otherwise ignored.",
                )
                .list_type("atomic"),
            ),
            (
                "selfLink",
                string("A legacy link to the object. Accepted and ignored."),
            ),
        ],
    )
}

fn label_selector() -> Schema {
    object(
        "A query over labels. An object matches when it carries every pair of `matchLabels` \
         and meets every term of `matchExpressions`; an empty selector matches every object.",
        vec![
            (
                "matchLabels",
                string_map(
                    "Labels the object must carry with these values. Each pair is the same as \
                     a term with operator `In` and that one value.",
                ),
            ),
            (
                "matchExpressions",
                list_of(LABEL_SELECTOR_REQUIREMENT, "Terms that must all hold.")
                    .list_type("atomic"),
            ),
        ],
    )
    .atomic()
}

fn label_selector_requirement() -> Schema {
    object(
        "One term of a label selector: a key, an operator and values.",
        vec![
            ("key", string("The label the term tests.")),
            (
                "operator",
                string(
                    "How the label is tested: `In` and `NotIn` compare its value with `values`; \
                     `Exists` and `DoesNotExist` only ask whether the object has the label. \
                     Any other operator never matches.",
                )
                .values(&["DoesNotExist", "Exists", "In", "NotIn"]),
            ),
            (
                "values",
                strings(
                    "The values `In` and `NotIn` compare with; empty for `Exists` and \
                     `DoesNotExist`.",
                )
                .list_type("atomic"),
            ),
        ],
    )
    .required(&["key", "operator"])
}

fn owner_reference() -> Schema {
    object(
        "Names the object that owns this one; the owner must be in the same namespace.",
        vec![
            (
                "apiVersion",
                string("The owner's API version (`batch/v1` for a Job)."),
            ),
            ("kind", string("The owner's kind (`Job`).")),
            ("name", string("The owner's name.")),
            (
                "uid",
                string("The owner's uid: a Job made again under the same name is another owner."),
            ),
            (
                "controller",
                boolean("Whether the owner is the object's controller; at most one owner is."),
            ),
            (
                "blockOwnerDeletion",
                boolean(
                    "Whether a foreground deletion of the owner waits for this object to go. \
                     The pods wasmjob makes set it.",
                ),
            ),
        ],
    )
    .required(&["apiVersion", "kind", "name", "uid"])
    .atomic()
}

fn status() -> Schema {
    let mut fields = type_fields("v1", "Status");
    fields.extend([
        ("metadata", of(LIST_META, "Metadata of the answer (empty).")),
        (
            "status",
            string("`Success` or `Failure`.").values(&["Failure", "Success"]),
        ),
        ("message", string("What happened, for a person to read.")),
        (
            "reason",
            string(
                "Why a request failed, as one word a program can test (`NotFound`, \
                 `AlreadyExists`, `Conflict`, `Invalid`, `BadRequest`, `MethodNotAllowed`, \
                 `UnsupportedMediaType`, `Unauthorized`, `InternalError`). kubectl shows it.",
            ),
        ),
        (
            "details",
            of(
                STATUS_DETAILS,
                "The object the failure is about, and its causes.",
            ),
        ),
        ("code", int32("The HTTP status code of the answer.")),
    ]);
    object(
        "The answer to a request that failed (or that returns no object): `status`, a \
         `reason` and the HTTP `code`. kubectl turns it into its error message.",
        fields,
    )
    .kind(&[Gvk {
        group: "",
        version: "v1",
        kind: "Status",
    }])
}

fn status_details() -> Schema {
    object(
        "The object a failure is about, and what in it was wrong.",
        vec![
            ("name", string("The object's name.")),
            (
                "group",
                string("The object's API group (empty for the core group)."),
            ),
            (
                "kind",
                string("The object's kind or resource (`jobs`, `pods`, `Job`)."),
            ),
            (
                "causes",
                list_of(
                    STATUS_CAUSE,
                    "Each broken rule of an `Invalid` object, naming its field.",
                )
                .list_type("atomic"),
            ),
        ],
    )
}

fn status_cause() -> Schema {
    object(
        "One reason a request failed.",
        vec![
            (
                "reason",
                string(
                    "What is wrong with the field, as a word (`FieldValueRequired`, \
                     `FieldValueInvalid`, `FieldValueNotSupported`, `FieldValueForbidden`, \
                     `FieldValueDuplicate`, `FieldValueNotFound`).",
                ),
            ),
            ("message", string("The same, for a person to read.")),
            (
                "field",
                string(
                    "The field at fault, as a path such as \
                     `spec.template.spec.containers[0].image`.",
                ),
            ),
        ],
    )
}

fn delete_options() -> Schema {
    let mut fields = type_fields("v1", "DeleteOptions");
    fields.extend([
        (
            "propagationPolicy",
            string(
                "What happens to the objects a deleted one owns: `Orphan` keeps them, without \
                 owner (the default for a Job, as on a cluster); `Background` removes them \
                 after the owner; `Foreground` removes them before it, the owner staying \
                 visible with its `deletionTimestamp` until they are gone.",
            )
            .values(&["Background", "Foreground", "Orphan"]),
        ),
        (
            "orphanDependents",
            boolean(
                "Deprecated: `true` is `propagationPolicy: Orphan`, `false` `Background`; not \
                 with `propagationPolicy`.",
            ),
        ),
        (
            "gracePeriodSeconds",
            int64(
                "Read and without effect: a stopped pod's instances are interrupted at once, \
                 so there is nothing to wait for.",
            ),
        ),
        (
            "preconditions",
            object(
                "The object must still be this one: a uid or resourceVersion that differs is \
                 a Conflict, and nothing is deleted.",
                vec![
                    ("uid", string("The object's uid.")),
                    ("resourceVersion", string("The object's resourceVersion.")),
                ],
            ),
        ),
        (
            "dryRun",
            strings(
                "`[All]`: answer what the deletion would make of the object (marked with its \
                 `deletionTimestamp`) and delete nothing.",
            )
            .list_type("atomic"),
        ),
    ]);
    object(
        "The options of a DELETE: its body, or when it has none its query (every field but \
         `preconditions`), as the API server reads them.",
        fields,
    )
    .kind(&in_every_group("DeleteOptions"))
}

fn watch_event() -> Schema {
    object(
        "One change in a watch (`?watch=true`), a JSON object a line.",
        vec![
            (
                "type",
                string(
                    "`ADDED`, `MODIFIED` or `DELETED`; or, when the watch asked for them \
                     (`allowWatchBookmarks`), `BOOKMARK`, whose object carries only the \
                     resourceVersion up to which the client has seen every change; or \
                     `ERROR`, whose object is a `Status` (410 `Expired`: the watch's \
                     resourceVersion is too old, list again).",
                )
                .values(&["ADDED", "BOOKMARK", "DELETED", "ERROR", "MODIFIED"]),
            ),
            (
                "object",
                opaque(
                    "The object as it is after the change (as it was, for `DELETED`), or a \
                     Table row when the watch asked for a Table.",
                ),
            ),
        ],
    )
    .required(&["type", "object"])
    .kind(&in_every_group("WatchEvent"))
}
