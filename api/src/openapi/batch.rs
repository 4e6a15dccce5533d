//! The schemas of `batch/v1` (`io.k8s.api.batch.v1.*`): Job, its spec and status, the pod
//! failure and success policies, and JobList, with the fields `wasmjob_spec` reads and what
//! wasmjob's controller does with each.
//!
//! Must not: describe pods (that is `core`).

use super::Schemas;
use super::core::{POD_TEMPLATE_SPEC, list};
use super::meta::{LABEL_SELECTOR, OBJECT_META, TIME, type_fields};
use super::schema::*;

pub const JOB: &str = "io.k8s.api.batch.v1.Job";
pub const JOB_LIST: &str = "io.k8s.api.batch.v1.JobList";
const JOB_SPEC: &str = "io.k8s.api.batch.v1.JobSpec";
const JOB_STATUS: &str = "io.k8s.api.batch.v1.JobStatus";
const JOB_CONDITION: &str = "io.k8s.api.batch.v1.JobCondition";
const POD_FAILURE_POLICY: &str = "io.k8s.api.batch.v1.PodFailurePolicy";
const POD_FAILURE_POLICY_RULE: &str = "io.k8s.api.batch.v1.PodFailurePolicyRule";
const ON_EXIT_CODES: &str = "io.k8s.api.batch.v1.PodFailurePolicyOnExitCodesRequirement";
const ON_POD_CONDITIONS: &str = "io.k8s.api.batch.v1.PodFailurePolicyOnPodConditionsPattern";
const SUCCESS_POLICY: &str = "io.k8s.api.batch.v1.SuccessPolicy";
const SUCCESS_POLICY_RULE: &str = "io.k8s.api.batch.v1.SuccessPolicyRule";
const UNCOUNTED: &str = "io.k8s.api.batch.v1.UncountedTerminatedPods";

pub const JOB_GVK: Gvk = Gvk {
    group: "batch",
    version: "v1",
    kind: "Job",
};

pub fn add(all: &mut Schemas) {
    all.insert(JOB, job().0);
    all.insert(JOB_SPEC, job_spec().0);
    all.insert(JOB_STATUS, job_status().0);
    all.insert(JOB_CONDITION, job_condition().0);
    all.insert(POD_FAILURE_POLICY, pod_failure_policy().0);
    all.insert(POD_FAILURE_POLICY_RULE, pod_failure_policy_rule().0);
    all.insert(ON_EXIT_CODES, on_exit_codes().0);
    all.insert(ON_POD_CONDITIONS, on_pod_conditions().0);
    all.insert(SUCCESS_POLICY, success_policy().0);
    all.insert(SUCCESS_POLICY_RULE, success_policy_rule().0);
    all.insert(UNCOUNTED, uncounted().0);
    all.insert(
        JOB_LIST,
        list("JobList", "Jobs", JOB, JOB_GVK.with_kind("JobList")).0,
    );
}

fn job() -> Schema {
    let mut fields = type_fields("batch/v1", "Job");
    fields.extend([
        (
            "metadata",
            of(
                OBJECT_META,
                "The Job's name, namespace, labels and annotations (such as \
                 `wasmjob.dev/items-file`).",
            ),
        ),
        ("spec", of(JOB_SPEC, "What the Job must do.")),
        (
            "status",
            of(
                JOB_STATUS,
                "What the Job has done so far, written by its controller. Read-only.",
            ),
        ),
    ]);
    object(
        "A Job runs pods of its template until enough of them succeed (or, as a work queue, \
         until one succeeded and all have ended), replacing the pods that fail within its \
         limits. Each pod runs the template's containers as WebAssembly modules, under \
         wasmjob's controller (`wasmjob serve`), which follows the rules of Kubernetes' own \
         Job controller.",
        fields,
    )
    .kind(&[JOB_GVK])
}

fn job_spec() -> Schema {
    object(
        "What a Job must do: how many pods must succeed, how many run at once, the limits on \
         failures and time, and the pod template.",
        vec![
            (
                "parallelism",
                int32(
                    "The most pods running at once (default 1); 0 pauses the Job without \
                     suspending it. May be changed while the Job runs.",
                ),
            ),
            (
                "completions",
                int32(
                    "How many pods must succeed for the Job to complete; with completionMode \
                     `Indexed`, each index from 0 to completions−1 needs one successful pod. \
                     Unset (with parallelism set): a work queue, complete once one pod has \
                     succeeded and all have ended. Defaults to 1 when parallelism is unset \
                     too.",
                ),
            ),
            (
                "completionMode",
                string(
                    "`NonIndexed` (the default): any successful pods count. `Indexed`: each \
                     pod gets an index (the annotation \
                     `batch.kubernetes.io/job-completion-index`, the variable \
                     `JOB_COMPLETION_INDEX`, the hostname `<job name>-<index>`) and every \
                     index needs one success.",
                )
                .values(&["Indexed", "NonIndexed"]),
            ),
            (
                "activeDeadlineSeconds",
                int64(
                    "Seconds the Job may be active, counted from its startTime and not while \
                     it is suspended. Past it every pod is stopped and the Job fails with \
                     reason `DeadlineExceeded`.",
                ),
            ),
            (
                "backoffLimit",
                int32(
                    "How many failed pods the Job tolerates: one more fails it with reason \
                     `BackoffLimitExceeded` (default 6; with restartPolicy OnFailure, the \
                     container restarts count). After a failure the next pod waits a \
                     back-off: serve's `--backoff-base` (10s), doubled for each failure \
                     since the last success, at most `--backoff-max` (10m).",
                ),
            ),
            (
                "backoffLimitPerIndex",
                int32(
                    "Indexed Jobs: how many failures each index tolerates. An index past it \
                     fails alone (it is listed in `failedIndexes`) while the others go on; the \
                     Job then fails with reason `FailedIndexes` once every index has ended.",
                ),
            ),
            (
                "maxFailedIndexes",
                int32(
                    "With backoffLimitPerIndex: how many failed indexes the Job tolerates; one \
                     more fails it with reason `MaxFailedIndexesExceeded`.",
                ),
            ),
            (
                "ttlSecondsAfterFinished",
                int32(
                    "Seconds after the Job finished (Complete or Failed) when it is deleted, \
                     with its pods, events and logs: 0 at once, unset never.",
                ),
            ),
            (
                "suspend",
                boolean(
                    "While true, no pod of the Job runs: running pods are stopped (and not \
                     counted as failures) and the Job has the condition `Suspended`. Setting \
                     it back to false resumes the Job, with a new startTime.",
                ),
            ),
            (
                "podFailurePolicy",
                of(
                    POD_FAILURE_POLICY,
                    "Rules on a failed pod's exit codes or conditions: fail the Job at once, \
                     fail the pod's index, ignore the failure, or count it. Needs \
                     restartPolicy Never.",
                ),
            ),
            (
                "successPolicy",
                of(
                    SUCCESS_POLICY,
                    "Indexed Jobs: when the Job succeeds before every index has.",
                ),
            ),
            (
                "podReplacementPolicy",
                string(
                    "When a pod that is stopping or failed is replaced: `TerminatingOrFailed` \
                     (the default) as soon as it is stopping; `Failed` only once it has fully \
                     ended, so that it keeps its slot meanwhile (the only value allowed, and \
                     the default, with a podFailurePolicy).",
                )
                .values(&["Failed", "TerminatingOrFailed"]),
            ),
            (
                "selector",
                of(
                    LABEL_SELECTOR,
                    "The label query over the Job's pods. Made by wasmjob (on the label \
                     `batch.kubernetes.io/controller-uid`) unless manualSelector is true.",
                ),
            ),
            (
                "manualSelector",
                boolean(
                    "Whether `selector` and the template's labels are the user's own instead \
                     of made by wasmjob (default false).",
                ),
            ),
            (
                "managedBy",
                string(
                    "On a cluster, the controller that manages the Job. Checked as there (a \
                     domain-prefixed path, unchangeable); wasmjob's controller runs the Job \
                     whatever it names.",
                ),
            ),
            (
                "template",
                of(
                    POD_TEMPLATE_SPEC,
                    "The pods the Job makes: their labels, annotations and spec, whose \
                     containers are WebAssembly modules.",
                ),
            ),
        ],
    )
    .required(&["template"])
}

fn job_status() -> Schema {
    object(
        "What a Job has done: its conditions, times and the pods it counted.",
        vec![
            (
                "conditions",
                list_of(
                    JOB_CONDITION,
                    "`Suspended` while suspended; `FailureTarget` or `SuccessCriteriaMet` as \
                     soon as the Job's end is decided, then `Failed` or `Complete` (with the \
                     same reason and message) once no stopped pod is still ending.",
                )
                .merged_by("type", "merge")
                .list_type("atomic"),
            ),
            (
                "startTime",
                of(
                    TIME,
                    "When the Job became active (again, after being resumed).",
                ),
            ),
            (
                "completionTime",
                of(TIME, "When the Job completed; not set when it failed."),
            ),
            ("active", int32("Pods running, or waiting to start.")),
            (
                "succeeded",
                int32("Pods that succeeded, each counted once."),
            ),
            ("failed", int32("Pods that failed, each counted once.")),
            ("terminating", int32("Pods being stopped.")),
            (
                "ready",
                int32("Active pods whose containers are all ready (started)."),
            ),
            (
                "completedIndexes",
                string("Indexed Jobs: the indexes that succeeded, as ranges (`1,3-5,7`)."),
            ),
            (
                "failedIndexes",
                string("With backoffLimitPerIndex: the indexes that failed, as ranges."),
            ),
            (
                "uncountedTerminatedPods",
                of(
                    UNCOUNTED,
                    "On a cluster, pods that ended and are not counted yet. wasmjob counts a \
                     pod in the same transaction as its end, so this is always empty.",
                ),
            ),
        ],
    )
}

fn job_condition() -> Schema {
    object(
        "One condition of a Job.",
        vec![
            (
                "type",
                string(
                    "`Complete`, `Failed`, `Suspended`, `FailureTarget` or \
                     `SuccessCriteriaMet`.",
                )
                .values(&[
                    "Complete",
                    "Failed",
                    "FailureTarget",
                    "SuccessCriteriaMet",
                    "Suspended",
                ]),
            ),
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
            (
                "reason",
                string(
                    "Why, as a word: `CompletionsReached`, `BackoffLimitExceeded`, \
                     `DeadlineExceeded`, `PodFailurePolicy`, `MaxFailedIndexesExceeded`, \
                     `FailedIndexes`, `SuccessPolicy`, `JobSuspended`, `JobResumed`.",
                ),
            ),
            (
                "message",
                string(
                    "Why, for a person (which rule fired, and for a pod failure policy which \
                     container and exit code).",
                ),
            ),
        ],
    )
    .required(&["type", "status"])
}

fn pod_failure_policy() -> Schema {
    object(
        "What a failed pod leads to, decided by its exit codes or conditions.",
        vec![(
            "rules",
            list_of(
                POD_FAILURE_POLICY_RULE,
                "Checked in order for each failed pod; the first that matches decides. A \
                 failure no rule matches counts toward backoffLimit.",
            )
            .list_type("atomic"),
        )],
    )
    .required(&["rules"])
}

fn pod_failure_policy_rule() -> Schema {
    object(
        "One rule of a pod failure policy: an action, and either exit codes or pod \
         conditions to match.",
        vec![
            (
                "action",
                string(
                    "`FailJob`: fail the Job at once (reason `PodFailurePolicy`) and stop its \
                     pods; `FailIndex`: fail the pod's index (needs backoffLimitPerIndex); \
                     `Ignore`: do not count the failure toward backoffLimit (the pod is \
                     replaced, after the usual back-off); `Count`: count it as usual.",
                )
                .values(&["Count", "FailIndex", "FailJob", "Ignore"]),
            ),
            (
                "onExitCodes",
                of(
                    ON_EXIT_CODES,
                    "Matches on the exit codes the pod's containers ended with (wasmjob's \
                     codes are stable: 134 a trap, 137 the memory limit, 152 out of fuel, …).",
                ),
            ),
            (
                "onPodConditions",
                list_of(
                    ON_POD_CONDITIONS,
                    "Matches when the pod has one of these conditions, such as \
                     `DisruptionTarget` for a pod wasmjob stopped (evicted, shut down, lost \
                     in a crash).",
                )
                .list_type("atomic"),
            ),
        ],
    )
    .required(&["action"])
}

fn on_exit_codes() -> Schema {
    object(
        "Exit codes a rule matches.",
        vec![
            (
                "containerName",
                string("Only this container's exit code counts (default: any container's)."),
            ),
            (
                "operator",
                string(
                    "`In`: the rule matches when a container ended with one of `values`; \
                     `NotIn`: when one ended with a code not among them. Containers that \
                     exited 0 are not examined.",
                )
                .values(&["In", "NotIn"]),
            ),
            (
                "values",
                int32s("The exit codes (0 is not allowed with `In`).").list_type("set"),
            ),
        ],
    )
    .required(&["operator", "values"])
}

fn on_pod_conditions() -> Schema {
    object(
        "A pod condition a rule matches.",
        vec![
            (
                "type",
                string("The condition's type (`DisruptionTarget`, …)."),
            ),
            (
                "status",
                string("The status it must have (default `True`).")
                    .values(&["False", "True", "Unknown"]),
            ),
        ],
    )
    .required(&["type"])
}

fn success_policy() -> Schema {
    object(
        "When an Indexed Job succeeds before every index has.",
        vec![(
            "rules",
            list_of(
                SUCCESS_POLICY_RULE,
                "The Job succeeds (reason `SuccessPolicy`) as soon as one rule is met; its \
                 pods still running are then stopped and not counted.",
            )
            .list_type("atomic"),
        )],
    )
    .required(&["rules"])
}

fn success_policy_rule() -> Schema {
    object(
        "One rule of a success policy: succeededIndexes, succeededCount, or both.",
        vec![
            (
                "succeededIndexes",
                string("Indexes that must all have succeeded, as ranges (`0,2-4`)."),
            ),
            (
                "succeededCount",
                int32(
                    "How many succeeded indexes are enough (among succeededIndexes when it is \
                     set).",
                ),
            ),
        ],
    )
}

fn uncounted() -> Schema {
    object(
        "Pods that ended and are not counted yet (always empty here).",
        vec![
            (
                "succeeded",
                strings("The uids of succeeded pods.").list_type("set"),
            ),
            (
                "failed",
                strings("The uids of failed pods.").list_type("set"),
            ),
        ],
    )
}
