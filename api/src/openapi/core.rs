//! The schemas of core `v1` (`io.k8s.api.core.v1.*`) that wasmjob uses: the pod template and
//! spec with containers, environment, resources and volumes; Pod and its status; Event;
//! Namespace; and Node, with what each field means for a WebAssembly task.
//!
//! The fields listed are exactly those `wasmjob_spec` reads (fields a cluster knows but that
//! mean nothing here are listed too, as accepted and ignored, or as refused).
//!
//! Must not: describe Jobs (that is `batch`).

use super::Schemas;
use super::meta::{LIST_META, OBJECT_META, QUANTITY, TIME, type_fields};
use super::schema::*;

pub const POD_TEMPLATE_SPEC: &str = "io.k8s.api.core.v1.PodTemplateSpec";
const POD_SPEC: &str = "io.k8s.api.core.v1.PodSpec";
const CONTAINER: &str = "io.k8s.api.core.v1.Container";
const ENV_VAR: &str = "io.k8s.api.core.v1.EnvVar";
const ENV_VAR_SOURCE: &str = "io.k8s.api.core.v1.EnvVarSource";
const OBJECT_FIELD_SELECTOR: &str = "io.k8s.api.core.v1.ObjectFieldSelector";
const RESOURCE_FIELD_SELECTOR: &str = "io.k8s.api.core.v1.ResourceFieldSelector";
const RESOURCE_REQUIREMENTS: &str = "io.k8s.api.core.v1.ResourceRequirements";
const VOLUME_MOUNT: &str = "io.k8s.api.core.v1.VolumeMount";
const VOLUME: &str = "io.k8s.api.core.v1.Volume";
const EMPTY_DIR: &str = "io.k8s.api.core.v1.EmptyDirVolumeSource";
const HOST_PATH: &str = "io.k8s.api.core.v1.HostPathVolumeSource";
const CSI: &str = "io.k8s.api.core.v1.CSIVolumeSource";
pub const POD: &str = "io.k8s.api.core.v1.Pod";
pub const POD_LIST: &str = "io.k8s.api.core.v1.PodList";
const POD_STATUS: &str = "io.k8s.api.core.v1.PodStatus";
const POD_CONDITION: &str = "io.k8s.api.core.v1.PodCondition";
const CONTAINER_STATUS: &str = "io.k8s.api.core.v1.ContainerStatus";
const CONTAINER_STATE: &str = "io.k8s.api.core.v1.ContainerState";
const STATE_WAITING: &str = "io.k8s.api.core.v1.ContainerStateWaiting";
const STATE_RUNNING: &str = "io.k8s.api.core.v1.ContainerStateRunning";
const STATE_TERMINATED: &str = "io.k8s.api.core.v1.ContainerStateTerminated";
pub const EVENT: &str = "io.k8s.api.core.v1.Event";
pub const EVENT_LIST: &str = "io.k8s.api.core.v1.EventList";
const EVENT_SOURCE: &str = "io.k8s.api.core.v1.EventSource";
const OBJECT_REFERENCE: &str = "io.k8s.api.core.v1.ObjectReference";
pub const NAMESPACE: &str = "io.k8s.api.core.v1.Namespace";
pub const NAMESPACE_LIST: &str = "io.k8s.api.core.v1.NamespaceList";
const NAMESPACE_SPEC: &str = "io.k8s.api.core.v1.NamespaceSpec";
const NAMESPACE_STATUS: &str = "io.k8s.api.core.v1.NamespaceStatus";
pub const NODE: &str = "io.k8s.api.core.v1.Node";
pub const NODE_LIST: &str = "io.k8s.api.core.v1.NodeList";
const NODE_SPEC: &str = "io.k8s.api.core.v1.NodeSpec";
const TAINT: &str = "io.k8s.api.core.v1.Taint";
const TOLERATION: &str = "io.k8s.api.core.v1.Toleration";
const NODE_STATUS: &str = "io.k8s.api.core.v1.NodeStatus";
const NODE_CONDITION: &str = "io.k8s.api.core.v1.NodeCondition";
const NODE_ADDRESS: &str = "io.k8s.api.core.v1.NodeAddress";
const NODE_SYSTEM_INFO: &str = "io.k8s.api.core.v1.NodeSystemInfo";

pub const POD_GVK: Gvk = Gvk {
    group: "",
    version: "v1",
    kind: "Pod",
};
pub const EVENT_GVK: Gvk = Gvk {
    group: "",
    version: "v1",
    kind: "Event",
};
pub const NAMESPACE_GVK: Gvk = Gvk {
    group: "",
    version: "v1",
    kind: "Namespace",
};
pub const NODE_GVK: Gvk = Gvk {
    group: "",
    version: "v1",
    kind: "Node",
};

/// A field a cluster uses and wasmjob accepts without using it (a warning names it when set).
fn ignored(what: &str) -> String {
    format!(
        "On a cluster, {what}. Accepted so that a cluster's manifest parses, and ignored: it \
         means nothing for a WebAssembly task (a warning names it when it is set)."
    )
}

/// A field a cluster uses and wasmjob refuses, because honouring it is not possible here.
fn refused(what: &str, why: &str) -> String {
    format!("On a cluster, {what}. Refused by wasmjob: {why}.")
}

const NO_CONFIG: &str = "there are no ConfigMaps or Secrets here; use `value`, or a file in a \
                         hostPath volume";
const OTHER_VOLUMES: &str = "the volumes here are emptyDir, hostPath, and csi with the driver \
                             outputs.wasmjob.dev";

pub fn add(all: &mut Schemas) {
    all.insert(
        POD_TEMPLATE_SPEC,
        object(
            "The pods a Job makes: the metadata and spec each of them gets.",
            vec![
                (
                    "metadata",
                    of(
                        OBJECT_META,
                        "The labels and annotations of every pod (the Job adds its own \
                         labels). The `wasmjob.dev/fuel`, `wasmjob.dev/fuel.<container>` and \
                         `wasmjob.dev/module.<container>` annotations go here.",
                    ),
                ),
                ("spec", of(POD_SPEC, "The spec of every pod.")),
            ],
        )
        .0,
    );
    all.insert(POD_SPEC, pod_spec().0);
    all.insert(CONTAINER, container().0);
    all.insert(ENV_VAR, env_var().0);
    all.insert(ENV_VAR_SOURCE, env_var_source().0);
    all.insert(OBJECT_FIELD_SELECTOR, object_field_selector().0);
    all.insert(RESOURCE_FIELD_SELECTOR, resource_field_selector().0);
    all.insert(RESOURCE_REQUIREMENTS, resource_requirements().0);
    all.insert(VOLUME_MOUNT, volume_mount().0);
    all.insert(VOLUME, volume().0);
    all.insert(EMPTY_DIR, empty_dir().0);
    all.insert(HOST_PATH, host_path().0);
    all.insert(CSI, csi().0);
    all.insert(POD, pod().0);
    all.insert(POD_STATUS, pod_status().0);
    all.insert(POD_CONDITION, pod_condition().0);
    all.insert(CONTAINER_STATUS, container_status().0);
    all.insert(CONTAINER_STATE, container_state().0);
    all.insert(
        STATE_WAITING,
        object(
            "A container that is not running yet.",
            vec![
                (
                    "reason",
                    string(
                        "Why it waits, as a word: `ContainerCreating`, `PodInitializing` (init \
                         containers run first), `CrashLoopBackOff` (an OnFailure restart waits \
                         out its back-off).",
                    ),
                ),
                ("message", string("The same, for a person to read.")),
            ],
        )
        .0,
    );
    all.insert(
        STATE_RUNNING,
        object(
            "A container whose instance is running.",
            vec![("startedAt", of(TIME, "When the instance started."))],
        )
        .0,
    );
    all.insert(STATE_TERMINATED, state_terminated().0);
    all.insert(EVENT, event().0);
    all.insert(
        EVENT_SOURCE,
        object(
            "Who reported an event.",
            vec![(
                "component",
                string("`job-controller` for a Job's events, `kubelet` for a pod's."),
            )],
        )
        .0,
    );
    all.insert(OBJECT_REFERENCE, object_reference().0);
    all.insert(NAMESPACE, namespace().0);
    all.insert(
        NAMESPACE_SPEC,
        object(
            "What a namespace asks for.",
            vec![(
                "finalizers",
                strings("Always `kubernetes`, as on a cluster.").list_type("atomic"),
            )],
        )
        .0,
    );
    all.insert(
        NAMESPACE_STATUS,
        object(
            "The state of a namespace.",
            vec![(
                "phase",
                string("Always `Active`: namespaces are not deleted here.")
                    .values(&["Active", "Terminating"]),
            )],
        )
        .0,
    );
    all.insert(
        POD_LIST,
        list("PodList", "Pods", POD, POD_GVK.with_kind("PodList")).0,
    );
    all.insert(
        EVENT_LIST,
        list(
            "EventList",
            "Events",
            EVENT,
            EVENT_GVK.with_kind("EventList"),
        )
        .0,
    );
    all.insert(
        NAMESPACE_LIST,
        list(
            "NamespaceList",
            "Namespaces",
            NAMESPACE,
            NAMESPACE_GVK.with_kind("NamespaceList"),
        )
        .0,
    );
    add_node(all);
}

/// The Node and its parts.
fn add_node(all: &mut Schemas) {
    let mut fields = type_fields("v1", "Node");
    fields.extend([
        (
            "metadata",
            of(
                OBJECT_META,
                "The node's name (the host's, or `serve --node-name`), its labels \
                 (`kubernetes.io/hostname`, `kubernetes.io/os`, `kubernetes.io/arch` and what \
                 users add) and annotations.",
            ),
        ),
        (
            "spec",
            of(NODE_SPEC, "Whether pods may be scheduled onto it."),
        ),
        ("status", of(NODE_STATUS, "What it has and how it is.")),
    ]);
    all.insert(
        NODE,
        object(
            "A machine that runs pods: the node inside `wasmjob serve`.",
            fields,
        )
        .kind(&[NODE_GVK])
        .0,
    );
    all.insert(
        NODE_SPEC,
        object(
            "What is asked of a node.",
            vec![
                (
                    "unschedulable",
                    boolean("Cordoned: no new pod is scheduled onto the node."),
                ),
                (
                    "taints",
                    list_of(
                        TAINT,
                        "Taints; `node.kubernetes.io/unreachable` while the node posts no \
                         status.",
                    )
                    .list_type("atomic"),
                ),
            ],
        )
        .0,
    );
    all.insert(
        TAINT,
        object(
            "A taint: pods that do not tolerate it are not scheduled onto the node.",
            vec![
                ("key", string("The taint's key.")),
                ("value", string("The taint's value.")),
                (
                    "effect",
                    string("What it does to pods that do not tolerate it.").values(&[
                        "NoExecute",
                        "NoSchedule",
                        "PreferNoSchedule",
                    ]),
                ),
                ("timeAdded", of(TIME, "When it was added.")),
            ],
        )
        .required(&["key", "effect"])
        .0,
    );
    all.insert(
        TOLERATION,
        object(
            "A toleration of the taints it matches (by key, value and effect).",
            vec![
                (
                    "key",
                    string("The taint key it matches; empty (with `Exists`): every key."),
                ),
                (
                    "operator",
                    string("How the value is matched.").values(&["Equal", "Exists"]),
                ),
                (
                    "value",
                    string("The taint value it matches (with `Equal`)."),
                ),
                (
                    "effect",
                    string("The taint effect it matches; empty: every effect.").values(&[
                        "NoExecute",
                        "NoSchedule",
                        "PreferNoSchedule",
                    ]),
                ),
                (
                    "tolerationSeconds",
                    int64(
                        "How long a `NoExecute` taint is tolerated once added (accepted; pods \
                         are not evicted by taints here).",
                    ),
                ),
            ],
        )
        .0,
    );
    all.insert(
        NODE_STATUS,
        object(
            "How a node is.",
            vec![
                (
                    "capacity",
                    map_of(
                        QUANTITY,
                        "What the node has: `pods` (`--max-pods`) and `memory` (the linear \
                         memory all guests may hold together).",
                    ),
                ),
                (
                    "allocatable",
                    map_of(
                        QUANTITY,
                        "What of it pods may take: `memory` is `--memory-budget` when set.",
                    ),
                ),
                (
                    "conditions",
                    list_of(NODE_CONDITION, "`Ready`, from the node's heartbeats.")
                        .merged_by("type", "merge")
                        .keyed_by(&["type"]),
                ),
                (
                    "addresses",
                    list_of(NODE_ADDRESS, "Its addresses: its `Hostname`.")
                        .merged_by("type", "merge")
                        .keyed_by(&["type"]),
                ),
                (
                    "nodeInfo",
                    of(NODE_SYSTEM_INFO, "The machine and its software."),
                ),
            ],
        )
        .0,
    );
    all.insert(
        NODE_CONDITION,
        object(
            "A condition of a node.",
            vec![
                ("type", string("`Ready`.")),
                (
                    "status",
                    string("`True` while the node posts its status; `Unknown` once it stopped.")
                        .values(&["False", "True", "Unknown"]),
                ),
                ("lastHeartbeatTime", of(TIME, "The node's last heartbeat.")),
                (
                    "lastTransitionTime",
                    of(TIME, "When the status last changed."),
                ),
                (
                    "reason",
                    string("`KubeletReady`, or `NodeStatusUnknown` once it stopped."),
                ),
                ("message", string("The same, for a person to read.")),
            ],
        )
        .required(&["type", "status"])
        .0,
    );
    all.insert(
        NODE_ADDRESS,
        object(
            "An address of a node.",
            vec![
                ("type", string("`Hostname`, `InternalIP`, `ExternalIP`, …")),
                ("address", string("The address.")),
            ],
        )
        .required(&["type", "address"])
        .0,
    );
    let info: Vec<(&str, Schema)> = [
        ("machineID", "The machine's id (`/etc/machine-id`)."),
        ("systemUUID", "The system's UUID, where readable."),
        ("bootID", "The id of the current boot."),
        ("kernelVersion", "The kernel's release (`uname -r`)."),
        ("osImage", "The OS (`PRETTY_NAME` of `/etc/os-release`)."),
        (
            "containerRuntimeVersion",
            "The runtime that runs the pods: `wasmtime://<version>`.",
        ),
        ("kubeletVersion", "wasmjob's version: `v<version>-wasmjob`."),
        ("kubeProxyVersion", "Empty: there is no network proxy."),
        ("operatingSystem", "`linux`, …"),
        ("architecture", "`amd64`, `arm64`, …"),
    ]
    .into_iter()
    .map(|(name, description)| (name, string(description)))
    .collect();
    all.insert(
        NODE_SYSTEM_INFO,
        object("The machine and software of a node.", info).0,
    );
    all.insert(
        NODE_LIST,
        list("NodeList", "Nodes", NODE, NODE_GVK.with_kind("NodeList")).0,
    );
}

/// A list of `item`s, as a list request answers it.
pub fn list(kind: &str, plural: &str, item: &str, gvk: Gvk) -> Schema {
    let version = if gvk.group.is_empty() {
        gvk.version.to_string()
    } else {
        format!("{}/{}", gvk.group, gvk.version)
    };
    let mut fields = type_fields(&version, kind);
    fields.extend([
        (
            "metadata",
            of(
                LIST_META,
                "The list's metadata: the store's resourceVersion.",
            ),
        ),
        ("items", list_of(item, &format!("{plural}, oldest first."))),
    ]);
    object(&format!("A list of {plural}."), fields)
        .required(&["items"])
        .kind(&[gvk])
}

fn pod_spec() -> Schema {
    object(
        "How the pods of a Job run: their containers (WebAssembly modules), volumes, restart \
         policy and deadline.",
        vec![
            (
                "containers",
                list_of(
                    CONTAINER,
                    "The containers of the pod, run side by side once every init container \
                     has succeeded: each is a WebAssembly module run as a WASI command. At \
                     least one.",
                )
                .merged_by("name", "merge")
                .keyed_by(&["name"]),
            ),
            (
                "initContainers",
                list_of(
                    CONTAINER,
                    "Containers run one after the other, each to success, before the \
                     `containers` start. One that fails fails the pod, or with \
                     `restartPolicy: OnFailure` runs again.",
                )
                .merged_by("name", "merge")
                .keyed_by(&["name"]),
            ),
            (
                "restartPolicy",
                string(
                    "What a failed container leads to: `Never` fails the pod (the Job may \
                     make another, within its backoffLimit); `OnFailure` runs the container \
                     again in the same pod after a back-off that doubles with each restart. \
                     Required: a Job's pods cannot use `Always`.",
                )
                .values(&["Never", "OnFailure"]),
            ),
            (
                "activeDeadlineSeconds",
                int64(
                    "Seconds a pod may be active before wasmjob stops it and fails it with \
                     reason `DeadlineExceeded` (its containers end with exit code 142). From 1 \
                     to 2147483647.",
                ),
            ),
            (
                "volumes",
                list_of(
                    VOLUME,
                    "Directories the containers may mount: `emptyDir`, `hostPath`, or a \
                     `csi` volume of the driver `outputs.wasmjob.dev` (atomic outputs). Other \
                     kinds are refused. A guest reaches no other file of the host.",
                )
                .merged_by("name", "merge,retainKeys")
                .keyed_by(&["name"]),
            ),
            (
                "terminationGracePeriodSeconds",
                int64(
                    "The longest a pod's stop may take. wasmjob interrupts a stopped pod's \
                     instances at once (there is no SIGTERM to handle), so there is nothing \
                     to wait for; accepted so that a cluster's manifest runs unchanged.",
                ),
            ),
            (
                "hostname",
                string(
                    "The pod's hostname, which its containers get as `HOSTNAME`; by default \
                     the pod's name. The pods of an Indexed Job get `<job name>-<index>`. A \
                     DNS label.",
                ),
            ),
            (
                "subdomain",
                string("A DNS label, accepted and kept; there is no DNS here."),
            ),
            (
                "runtimeClassName",
                string(
                    "On a cluster, selects the runtime of the pod's containers (a WebAssembly \
                     shim such as runwasi's). Accepted without a warning, so that a manifest \
                     written for a cluster runs here unchanged; wasmjob always runs the \
                     modules itself.",
                ),
            ),
            (
                "nodeName",
                string(
                    "The node the pod is bound to, set when the scheduler places it. A \
                     template that sets it places its pods on that node without the \
                     scheduler's checks (a cordon, selectors, taints), as on a cluster.",
                ),
            ),
            (
                "nodeSelector",
                string_map(
                    "Labels a node must have (every one of them) for the pod to be scheduled \
                     onto it; a pod that fits no node stays Pending (`PodScheduled=False`, \
                     reason `Unschedulable`).",
                )
                .atomic(),
            ),
            (
                "tolerations",
                list_of(
                    TOLERATION,
                    "The node taints the pod tolerates: a node with a `NoSchedule` or \
                     `NoExecute` taint it does not tolerate is not considered for it.",
                )
                .list_type("atomic"),
            ),
            (
                "affinity",
                opaque(&ignored(
                    "where the pod is scheduled relative to nodes and to other pods",
                )),
            ),
            (
                "serviceAccountName",
                string(&ignored("the service account the pod runs as")),
            ),
            (
                "serviceAccount",
                string(&ignored("an old name of serviceAccountName")),
            ),
            (
                "automountServiceAccountToken",
                boolean(&ignored("whether the service account's token is mounted")),
            ),
            (
                "securityContext",
                opaque(&ignored(
                    "the user, groups and kernel security settings of the pod; a guest here \
                     reaches only the directories mounted into it",
                )),
            ),
            (
                "imagePullSecrets",
                opaque_keyed_list(
                    &ignored("the credentials images are pulled with"),
                    &[("name", "string")],
                )
                .merged_by("name", "merge")
                .keyed_by(&["name"]),
            ),
            (
                "priorityClassName",
                string(&ignored(
                    "the priority class the scheduler ranks the pod by",
                )),
            ),
            (
                "priority",
                int32(&ignored(
                    "the pod's priority, taken from its priority class",
                )),
            ),
            (
                "preemptionPolicy",
                string(&ignored(
                    "whether the pod may preempt pods of lower priority",
                )),
            ),
            (
                "schedulerName",
                string(&ignored("the scheduler that places the pod")),
            ),
            (
                "dnsPolicy",
                string(&ignored(
                    "how the pod's DNS is set up; there is no network here",
                )),
            ),
            (
                "dnsConfig",
                opaque(&ignored("extra DNS settings of the pod")),
            ),
            (
                "hostNetwork",
                boolean(&ignored(
                    "whether the pod uses the node's network; a guest here has no network",
                )),
            ),
            (
                "hostPID",
                boolean(&ignored(
                    "whether the pod shares the node's process namespace",
                )),
            ),
            (
                "hostIPC",
                boolean(&ignored("whether the pod shares the node's IPC namespace")),
            ),
            (
                "hostUsers",
                boolean(&ignored("whether the pod uses the node's user namespace")),
            ),
            (
                "hostAliases",
                opaque_keyed_list(
                    &ignored("extra entries of the pod's hosts file"),
                    &[("ip", "string")],
                )
                .merged_by("ip", "merge")
                .keyed_by(&["ip"]),
            ),
            (
                "enableServiceLinks",
                boolean(&ignored(
                    "whether services are passed to the pod as environment variables",
                )),
            ),
            (
                "topologySpreadConstraints",
                opaque_list(&ignored("how pods are spread across zones and nodes")),
            ),
            (
                "overhead",
                map_of(
                    QUANTITY,
                    &ignored("what the pod's sandbox takes besides its containers"),
                ),
            ),
            (
                "readinessGates",
                opaque_list(&ignored("extra conditions the pod's readiness waits for"))
                    .list_type("atomic"),
            ),
            (
                "schedulingGates",
                opaque_list(&ignored(
                    "conditions that keep the pod from being scheduled",
                )),
            ),
            (
                "shareProcessNamespace",
                boolean(&ignored(
                    "whether the containers share one process namespace",
                )),
            ),
            ("os", opaque(&ignored("the operating system the pod needs"))),
            (
                "setHostnameAsFQDN",
                boolean(&ignored(
                    "whether the hostname is the pod's fully qualified domain name",
                )),
            ),
            (
                "resourceClaims",
                opaque_keyed_list(
                    &ignored("the dynamically allocated resources the pod claims"),
                    &[("name", "string")],
                )
                .merged_by("name", "merge,retainKeys")
                .keyed_by(&["name"]),
            ),
        ],
    )
    .required(&["containers"])
}

fn container() -> Schema {
    object(
        "One WebAssembly module of a pod, run as a WASI preview 1 command: its arguments, \
         environment, memory limit and mounted directories. A guest has no network, an empty \
         stdin, and reaches only the directories mounted into it.",
        vec![
            (
                "name",
                string(
                    "The container's name, a DNS label unique in the pod. `kubectl logs -c` \
                     and the annotations `wasmjob.dev/fuel.<name>` and \
                     `wasmjob.dev/module.<name>` use it, and it is argv[0] when `command` is \
                     unset.",
                ),
            ),
            (
                "image",
                string(
                    "The WebAssembly module to run: the path of a WASI preview 1 command \
                     module (a `.wasm` file exporting `_start`), relative to the manifest's \
                     folder, or for a Job created through the API (`kubectl create`, \
                     `kubectl apply`) relative to serve's `--image-dir` (default: the folder \
                     serve was started in); or `file:///absolute/path.wasm`. The pod template \
                     annotation `wasmjob.dev/module.<container>` overrides it, so that a \
                     manifest written for a cluster (an OCI image with a runtimeClassName) \
                     runs here unchanged. Components, and modules without `_start`, are \
                     refused when the Job is created. Required unless that annotation is set.",
                ),
            ),
            (
                "command",
                strings(
                    "The start of argv: its first element is argv[0] (without `command`, \
                     argv[0] is the container's name). `$(VAR)` becomes the value of the \
                     container's variable VAR, `$$` a `$`.",
                )
                .list_type("atomic"),
            ),
            (
                "args",
                strings(
                    "The arguments that follow argv[0] (or `command`), with `$(VAR)` \
                     expanded as in `command`.",
                )
                .list_type("atomic"),
            ),
            (
                "env",
                list_of(
                    ENV_VAR,
                    "The guest's environment: these variables only, then `HOSTNAME` (the \
                     pod's hostname) unless set here; the pods of an Indexed Job also get \
                     `JOB_COMPLETION_INDEX`. Nothing comes from the host.",
                )
                .merged_by("name", "merge")
                .keyed_by(&["name"]),
            ),
            (
                "workingDir",
                string(
                    "The guest's current directory: an absolute path inside one of the \
                     container's volume mounts. It is also preopened as `.`, so that relative \
                     paths resolve there.",
                ),
            ),
            (
                "resources",
                of(
                    RESOURCE_REQUIREMENTS,
                    "What the container may use: `limits.memory` caps the module's linear \
                     memory.",
                ),
            ),
            (
                "volumeMounts",
                list_of(
                    VOLUME_MOUNT,
                    "The pod's volumes this container sees, each preopened as a WASI \
                     directory at its `mountPath`.",
                )
                .merged_by("mountPath", "merge")
                .keyed_by(&["mountPath"]),
            ),
            (
                "envFrom",
                opaque_list(&refused(
                    "takes variables from ConfigMaps or Secrets",
                    NO_CONFIG,
                ))
                .list_type("atomic"),
            ),
            (
                "volumeDevices",
                opaque_keyed_list(
                    &refused(
                        "maps block devices into the container",
                        "there are no block devices here",
                    ),
                    &[("devicePath", "string")],
                )
                .merged_by("devicePath", "merge")
                .keyed_by(&["devicePath"]),
            ),
            (
                "terminationMessagePath",
                string(&ignored(
                    "the file a container writes its termination message to; a task here \
                     sets its message through the guest SDK (`termination_message`)",
                )),
            ),
            (
                "terminationMessagePolicy",
                string(
                    "On a cluster, where the termination message comes from. Accepted and \
                     ignored: a task sets its message through the guest SDK.",
                ),
            ),
            (
                "imagePullPolicy",
                string(&ignored(
                    "when the image is pulled; modules are read from files",
                )),
            ),
            (
                "securityContext",
                opaque(&ignored(
                    "the user, capabilities and kernel security settings of the container",
                )),
            ),
            (
                "ports",
                opaque_keyed_list(
                    &ignored("the ports the container listens on; a guest has no network"),
                    &[("containerPort", "integer"), ("protocol", "string")],
                )
                .merged_by("containerPort", "merge")
                .keyed_by(&["containerPort", "protocol"]),
            ),
            (
                "livenessProbe",
                opaque(&ignored(
                    "a check that restarts the container when it fails; there are no probes \
                     here",
                )),
            ),
            (
                "readinessProbe",
                opaque(&ignored(
                    "a check of whether the container is ready; here a container is ready \
                     once its instance has started",
                )),
            ),
            (
                "startupProbe",
                opaque(&ignored("a check of whether the container has started")),
            ),
            (
                "lifecycle",
                opaque(&ignored("commands run after the start and before the stop")),
            ),
            (
                "stdin",
                boolean(&ignored(
                    "whether the container gets a stdin; a guest's stdin is always empty",
                )),
            ),
            (
                "stdinOnce",
                boolean(&ignored("whether stdin closes after the first client")),
            ),
            (
                "tty",
                boolean(&ignored("whether the container gets a terminal")),
            ),
            (
                "resizePolicy",
                opaque_list(&ignored("how resources are resized in place")).list_type("atomic"),
            ),
            (
                "restartPolicy",
                string(&refused(
                    "makes an init container a sidecar that keeps running (`Always`)",
                    "there are no sidecars here",
                )),
            ),
        ],
    )
    .required(&["name"])
}

fn env_var() -> Schema {
    object(
        "One variable of a guest's environment.",
        vec![
            (
                "name",
                string("The variable's name: printable ASCII characters, without `=`."),
            ),
            (
                "value",
                string(
                    "Its value. `$(VAR)` becomes the value of a variable defined before this \
                     one, `$$` a `$`.",
                ),
            ),
            (
                "valueFrom",
                of(
                    ENV_VAR_SOURCE,
                    "Where the value comes from instead; not together with a non-empty \
                     `value`.",
                ),
            ),
        ],
    )
    .required(&["name"])
}

fn env_var_source() -> Schema {
    object(
        "Where a variable's value comes from: exactly one of the fields.",
        vec![
            (
                "fieldRef",
                of(
                    OBJECT_FIELD_SELECTOR,
                    "A field of the pod: `metadata.name`, `metadata.namespace`, \
                     `metadata.uid`, `metadata.labels['<key>']`, \
                     `metadata.annotations['<key>']`, `spec.nodeName` (`wasmjob`), \
                     `spec.serviceAccountName`, or `status.podIP`, `status.podIPs`, \
                     `status.hostIP`, `status.hostIPs` (empty strings: there is no network).",
                ),
            ),
            (
                "resourceFieldRef",
                of(
                    RESOURCE_FIELD_SELECTOR,
                    "A limit or request of a container of the pod.",
                ),
            ),
            (
                "configMapKeyRef",
                opaque(&refused("reads the value from a ConfigMap", NO_CONFIG)),
            ),
            (
                "secretKeyRef",
                opaque(&refused("reads the value from a Secret", NO_CONFIG)),
            ),
            (
                "fileKeyRef",
                opaque(&refused(
                    "reads the value from a file of a volume",
                    "not supported",
                )),
            ),
        ],
    )
}

fn object_field_selector() -> Schema {
    object(
        "A field of the pod, as a variable's value.",
        vec![
            ("apiVersion", string("`v1` (the default).")),
            (
                "fieldPath",
                string("The field's path, one of those `fieldRef` lists."),
            ),
        ],
    )
    .required(&["fieldPath"])
    .atomic()
}

fn resource_field_selector() -> Schema {
    object(
        "A limit or request of a container, as a variable's value.",
        vec![
            (
                "containerName",
                string("The container whose resources are read (default: this one)."),
            ),
            (
                "resource",
                string(
                    "`limits.memory`, `requests.memory`, `limits.cpu`, `requests.cpu`, \
                     `limits.ephemeral-storage` or `requests.ephemeral-storage`.",
                )
                .values(&[
                    "limits.cpu",
                    "limits.ephemeral-storage",
                    "limits.memory",
                    "requests.cpu",
                    "requests.ephemeral-storage",
                    "requests.memory",
                ]),
            ),
            (
                "divisor",
                of(
                    QUANTITY,
                    "The unit of the value (default `1`); the value is rounded up to a whole \
                     number of it. For memory a power of 1000 or 1024 bytes (`1Mi`), for \
                     cpu `1` or `1m`.",
                ),
            ),
        ],
    )
    .required(&["resource"])
    .atomic()
}

fn resource_requirements() -> Schema {
    object(
        "The resources of a container.",
        vec![
            (
                "limits",
                map_of(
                    QUANTITY,
                    "The most the container may use. `memory` caps the module's linear \
                     memory: growing past it ends the run with reason `OOMKilled` and exit \
                     code 137 (a module that declares more at start ends the same way), and \
                     serve's `--memory-budget` reserves it while the pod runs. `cpu` and \
                     `ephemeral-storage` are checked as on a cluster and not enforced (a \
                     run's log is capped by `--log-limit`).",
                ),
            ),
            (
                "requests",
                map_of(
                    QUANTITY,
                    "What the container needs, at most its limit. Checked as on a cluster; \
                     not used to place or cap pods.",
                ),
            ),
            (
                "claims",
                opaque_keyed_list(
                    &ignored("the pod's resource claims this container uses"),
                    &[("name", "string")],
                )
                .keyed_by(&["name"]),
            ),
        ],
    )
}

fn volume_mount() -> Schema {
    object(
        "A volume of the pod as a container sees it: a WASI preopened directory.",
        vec![
            (
                "name",
                string("The volume mounted (a name in the pod's `volumes`)."),
            ),
            (
                "mountPath",
                string(
                    "Where the guest sees the volume: an absolute path, unique in the \
                     container.",
                ),
            ),
            (
                "readOnly",
                boolean("Whether the guest may only read the volume (enforced)."),
            ),
            (
                "subPath",
                string(
                    "A folder inside the volume mounted instead of its root: a relative path \
                     without `..` that stays inside the volume.",
                ),
            ),
            (
                "subPathExpr",
                string(&refused(
                    "a subPath with `$(VAR)` references to the environment",
                    "not supported",
                )),
            ),
            (
                "mountPropagation",
                string(
                    "On a cluster, whether mounts propagate between host and container. \
                     Accepted and ignored: nothing propagates into a guest.",
                ),
            ),
            (
                "recursiveReadOnly",
                string(
                    "On a cluster, whether read-only applies to submounts too. Accepted and \
                     ignored: a read-only mount is read-only throughout.",
                ),
            ),
        ],
    )
    .required(&["name", "mountPath"])
}

fn volume() -> Schema {
    let other = |what: &str| opaque(&refused(what, OTHER_VOLUMES));
    object(
        "A directory the pod's containers may mount: exactly one of `emptyDir`, `hostPath` \
         and `csi`.",
        vec![
            (
                "name",
                string("The volume's name, a DNS label unique in the pod; mounts name it."),
            ),
            (
                "emptyDir",
                of(
                    EMPTY_DIR,
                    "A new empty directory for each pod, kept across OnFailure restarts and \
                     removed with the pod.",
                ),
            ),
            ("hostPath", of(HOST_PATH, "A directory of the host.")),
            (
                "csi",
                of(
                    CSI,
                    "wasmjob's atomic outputs (the driver `outputs.wasmjob.dev`), the one \
                     CSI driver here.",
                ),
            ),
            ("configMap", other("a ConfigMap's keys as files")),
            ("secret", other("a Secret's keys as files")),
            (
                "persistentVolumeClaim",
                other("a persistent volume, through its claim"),
            ),
            (
                "projected",
                other("several sources projected into one directory"),
            ),
            ("downwardAPI", other("fields of the pod as files")),
            (
                "ephemeral",
                other("a volume provisioned for the pod and deleted with it"),
            ),
            ("image", other("the content of an OCI image")),
            ("nfs", other("an NFS share")),
        ],
    )
    .required(&["name"])
}

fn empty_dir() -> Schema {
    object(
        "A fresh directory per pod.",
        vec![
            (
                "medium",
                string(
                    "`\"\"` (the default) or `Memory`; either way it is a directory of the \
                     state directory's disk.",
                )
                .values(&["", "Memory"]),
            ),
            (
                "sizeLimit",
                of(
                    QUANTITY,
                    "The most the directory may hold. While the pod runs it is measured \
                     every 50 ms (allocated blocks, every file and folder counting at least \
                     4 KiB); past the limit the pod is evicted: its containers are stopped, \
                     and it fails with reason `Evicted` and a `DisruptionTarget` condition.",
                ),
            ),
        ],
    )
}

fn host_path() -> Schema {
    object(
        "A directory of the host.",
        vec![
            (
                "path",
                string(
                    "The directory: absolute, or relative to the manifest's folder (for a Job \
                     created through the API, to serve's `--image-dir`). It must not contain \
                     `..`, and a guest never gets out of it (not through symlinks either).",
                ),
            ),
            (
                "type",
                string(
                    "`\"\"` or `Directory`: the directory must exist (a pod whose directory \
                     is missing fails with `StartError`); `DirectoryOrCreate`: it is made \
                     when missing. Files, sockets and devices cannot be mounted: WASI \
                     preopens only directories.",
                )
                .values(&["", "Directory", "DirectoryOrCreate"]),
            ),
        ],
    )
    .required(&["path"])
}

fn csi() -> Schema {
    object(
        "An outputs volume (the driver `outputs.wasmjob.dev`): each pod writes, at the mount \
         path, into a private staging folder that is published into the Job's output \
         directory, in one rename, only when its work succeeds: as `<index>/` for an Indexed \
         Job, `<item id>/` for a work-queue item, `<pod name>/` otherwise. A published folder \
         is never overwritten, and a failed or stopped attempt leaves nothing.",
        vec![
            (
                "driver",
                string("`outputs.wasmjob.dev`, the one driver here.")
                    .values(&["outputs.wasmjob.dev"]),
            ),
            (
                "readOnly",
                boolean("Must not be true: the pods write their outputs there."),
            ),
            ("fsType", string("Accepted and ignored.")),
            (
                "volumeAttributes",
                string_map(
                    "`path`: the Job's output directory, relative to the manifest's folder \
                     (for a Job created through the API, to serve's `--image-dir`) unless \
                     absolute, without `..`; default `outputs/<job name>`. No other key.",
                ),
            ),
            ("nodePublishSecretRef", opaque("Accepted and ignored.")),
        ],
    )
    .required(&["driver"])
}

fn pod() -> Schema {
    let mut fields = type_fields("v1", "Pod");
    fields.extend([
        (
            "metadata",
            of(
                OBJECT_META,
                "The pod's metadata: named after its Job, which owns it, with the labels \
                 `batch.kubernetes.io/job-name` and `batch.kubernetes.io/controller-uid`.",
            ),
        ),
        (
            "spec",
            of(
                POD_SPEC,
                "The pod's spec: its Job's template (with the hostname of an Indexed Job's \
                 pod).",
            ),
        ),
        (
            "status",
            of(
                POD_STATUS,
                "What has happened to the pod so far. Read-only.",
            ),
        ),
    ]);
    object(
        "One attempt at a Job's work: the template's containers run as WebAssembly \
         instances. Pods are made and counted by their Job's controller; through the API \
         they are read, watched, and deleted (a deleted running pod is stopped, counted as \
         failed and replaced as its Job says).",
        fields,
    )
    .kind(&[POD_GVK])
}

fn pod_status() -> Schema {
    object(
        "What has happened to a pod.",
        vec![
            (
                "phase",
                string(
                    "`Pending` (waiting for capacity, or starting), `Running`, `Succeeded` \
                     (every container ended with exit code 0) or `Failed`.",
                )
                .values(&["Failed", "Pending", "Running", "Succeeded"]),
            ),
            (
                "conditions",
                list_of(
                    POD_CONDITION,
                    "`PodScheduled`, `Initialized`, `ContainersReady` and `Ready`; \
                     `DisruptionTarget` when wasmjob stopped the pod (evicted, deadline, \
                     shutdown, lost in a crash); and `wasmjob.dev/Progress`, the progress \
                     the task reported.",
                )
                .merged_by("type", "merge")
                .keyed_by(&["type"]),
            ),
            (
                "message",
                string("Why the pod is in its phase, for a person."),
            ),
            (
                "reason",
                string("Why, as a word (`Evicted`, `DeadlineExceeded`, `OutputsNotPublished`)."),
            ),
            ("startTime", of(TIME, "When the pod started.")),
            (
                "initContainerStatuses",
                list_of(CONTAINER_STATUS, "One status per init container.").list_type("atomic"),
            ),
            (
                "containerStatuses",
                list_of(CONTAINER_STATUS, "One status per container.").list_type("atomic"),
            ),
        ],
    )
}

fn pod_condition() -> Schema {
    object(
        "One condition of a pod.",
        vec![
            ("type", string("Which condition (see `conditions`).")),
            (
                "status",
                string("`True`, `False` or `Unknown`.").values(&["False", "True", "Unknown"]),
            ),
            (
                "lastProbeTime",
                of(TIME, "When the condition was last checked."),
            ),
            (
                "lastTransitionTime",
                of(TIME, "When `status` last changed."),
            ),
            ("reason", string("Why, as a word.")),
            (
                "message",
                string(
                    "Why, for a person. For `wasmjob.dev/Progress`: `42%`, `42%: text` or \
                     `text`.",
                ),
            ),
        ],
    )
    .required(&["type", "status"])
}

fn container_status() -> Schema {
    object(
        "The state of one container of a pod.",
        vec![
            ("name", string("The container's name.")),
            ("state", of(CONTAINER_STATE, "Its current state.")),
            (
                "lastState",
                of(
                    CONTAINER_STATE,
                    "The state its previous run ended in, after an OnFailure restart.",
                ),
            ),
            (
                "ready",
                boolean("Whether its instance has started and not ended (there are no probes)."),
            ),
            (
                "restartCount",
                int32("How many times the container was run again in this pod."),
            ),
            ("image", string("The container's `image`, as given.")),
            (
                "imageID",
                string("Empty: a module is a file, not an image."),
            ),
            ("containerID", string("Not set by wasmjob.")),
            ("started", boolean("Whether its instance has started.")),
        ],
    )
    .required(&["name", "ready", "restartCount", "image", "imageID"])
}

fn container_state() -> Schema {
    object(
        "The state of a container: one of `waiting`, `running` and `terminated`.",
        vec![
            ("waiting", of(STATE_WAITING, "Not running yet.")),
            ("running", of(STATE_RUNNING, "Running.")),
            ("terminated", of(STATE_TERMINATED, "Ended.")),
        ],
    )
}

fn state_terminated() -> Schema {
    object(
        "A container run that has ended, and how.",
        vec![
            (
                "exitCode",
                int32(
                    "How the run ended (a pod failure policy's `onExitCodes` can match it): \
                     0 success; the low 8 bits of the guest's `proc_exit` status; 128 the \
                     module could not be loaded or started; 134 a trap; 137 past the memory \
                     limit; 142 past the pod's activeDeadlineSeconds; 143 stopped by \
                     wasmjob; 152 out of fuel.",
                ),
            ),
            ("signal", int32("Not set: guests get no signals.")),
            (
                "reason",
                string(
                    "`Completed`, `Error`, `StartError`, `Trap`, `OOMKilled`, \
                     `DeadlineExceeded`, `Stopped`, `FuelExhausted`, or \
                     `ContainerStatusUnknown` (the controller died while it ran).",
                ),
            ),
            (
                "message",
                string(
                    "The task's termination message (set through the guest SDK, at most \
                     4096 bytes), else wasmjob's: the trap and its wasm backtrace, the limit \
                     passed, why it was stopped.",
                ),
            ),
            ("startedAt", of(TIME, "When the run started.")),
            ("finishedAt", of(TIME, "When it ended.")),
            ("containerID", string("Not set by wasmjob.")),
        ],
    )
    .required(&["exitCode"])
}

fn event() -> Schema {
    let mut fields = type_fields("v1", "Event");
    fields.extend([
        (
            "metadata",
            of(OBJECT_META, "The event's name and namespace."),
        ),
        (
            "involvedObject",
            of(OBJECT_REFERENCE, "The Job or pod the event is about."),
        ),
        (
            "reason",
            string(
                "What happened, as a word (`SuccessfulCreate`, `Completed`, \
                 `BackoffLimitExceeded`, `OutputsNotPublished`, …).",
            ),
        ),
        ("message", string("What happened, for a person.")),
        (
            "type",
            string("`Normal` or `Warning`.").values(&["Normal", "Warning"]),
        ),
        (
            "count",
            int32("How many times it happened: always 1 (events are not folded together)."),
        ),
        ("firstTimestamp", of(TIME, "When it happened.")),
        (
            "lastTimestamp",
            of(TIME, "When it happened (the same time)."),
        ),
        ("source", of(EVENT_SOURCE, "Who reported it.")),
        (
            "reportingComponent",
            string("Who reported it: `job-controller` or `kubelet`."),
        ),
    ]);
    object(
        "Something that happened to a Job or a pod, as `kubectl describe` and `kubectl get \
         events` show it. An event lives as long as its object.",
        fields,
    )
    .required(&["metadata", "involvedObject"])
    .kind(&[EVENT_GVK])
}

fn object_reference() -> Schema {
    object(
        "Names one object.",
        vec![
            ("apiVersion", string("Its API version (`batch/v1`, `v1`).")),
            ("kind", string("Its kind (`Job`, `Pod`).")),
            ("name", string("Its name.")),
            ("namespace", string("Its namespace.")),
            ("uid", string("Its uid.")),
        ],
    )
    .atomic()
}

fn namespace() -> Schema {
    let mut fields = type_fields("v1", "Namespace");
    fields.extend([
        (
            "metadata",
            of(OBJECT_META, "The namespace's name and creation time."),
        ),
        ("spec", of(NAMESPACE_SPEC, "What the namespace asks for.")),
        ("status", of(NAMESPACE_STATUS, "Its state.")),
    ]);
    object(
        "A namespace: `default`, those created (`kubectl create namespace`), and every \
         namespace a Job lives in (a Job may be created in a namespace that was not created \
         first). Namespaces are not deleted.",
        fields,
    )
    .kind(&[NAMESPACE_GVK])
}
