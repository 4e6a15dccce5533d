//! The scenario file format (`tests/conformance/*.yaml`; one or more YAML documents per file,
//! each one scenario). Field by field:
//!
//! * `name` — what the scenario shows, as a sentence; `source` — where the expectation comes
//!   from (reference section, upstream test name, and any choice made where it is ambiguous).
//! * `config` — controller overrides: `backoffBase`, `backoffMax`, `maxPodsPerSync`.
//! * `job` — a partial Job manifest, merged (maps key by key, anything else replaced) over a
//!   base Job named `job` in namespace `default` with one container `main` and
//!   `restartPolicy: Never`; then read by `wasmjob_spec::load_jobs`, so defaults and validation
//!   apply.
//! * `pods` — behaviour rules; a new pod takes the first rule whose selectors (`pod`: creation
//!   order, `index`: completion index, `attempt`: n-th pod of that index — of the Job for
//!   NonIndexed) all match; without a match it stays running. Times count from the pod's
//!   creation: `start` (Pending → Running, default 0s), `ready` (Ready=True, default `start`;
//!   `never`), `succeed` or `fail` (with `exitCode`, default 1, or `exitCodes` per container),
//!   `restarts` (OnFailure in-place container restarts), `conditions` (pod conditions set when
//!   it ends, e.g. `DisruptionTarget`), `terminationDelay` (how long it takes to end once
//!   stopped, default 1s) and `stopExitCode` (the exit code it ends with then, default 143).
//! * `steps` — at a time (`at`, from the Job's creation): `patch` (JSON merge patch of the Job),
//!   `delete` (someone else deletes a pod: `pod`/`name`, `conditions`, `terminationDelay`,
//!   `exitCode`), `addPod` (a pod the controller did not create is adopted: `name`,
//!   `annotations`, `labels`, `behaviour`), and `expect`.
//! * `expect` — checked at the end (nothing left to happen, or `until`). An expectation checks
//!   only the fields it names: `active`, `succeeded`, `failed`, `ready`, `terminating`,
//!   `completedIndexes`, `failedIndexes` (`null` = absent), `conditions` (the whole list in
//!   order; `Type/Reason` or `Type=False/Reason`, or a map with `type`, `status`, `reason`,
//!   `message`, `at`; the upstream controller's message is implied for standard reasons; `{pod N}` in a
//!   message is the name of the N-th pod created), `startTime`/`completionTime` (`null` =
//!   unset), `podsCreated`, `created` (creation times of the pods, in order), `indexes`
//!   (their completion indexes), and `pods` (per pod: `phase`, `stopped`, `counted`,
//!   `annotations`/`labels` (`null` value = absent), `hostname`, `indexEnv`, `created`).
//!
//! Durations are `1.5s`, `500ms`, `2m`, `1h` or a number of seconds.

use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    pub source: String,
    #[serde(default)]
    pub config: Config,
    #[serde(default)]
    pub job: Option<Value>,
    #[serde(default)]
    pub pods: Vec<Rule>,
    #[serde(default)]
    pub steps: Vec<Step>,
    #[serde(default)]
    pub until: Option<Dur>,
    #[serde(default)]
    pub expect: Option<Expect>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    pub backoff_base: Option<Dur>,
    pub backoff_max: Option<Dur>,
    pub max_pods_per_sync: Option<usize>,
}

/// A duration in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dur(pub i64);

impl Dur {
    pub fn parse(s: &str) -> Result<Dur, String> {
        let s = s.trim();
        let (num, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
            Some(at) => s.split_at(at),
            None => (s, "s"),
        };
        let n: f64 = num
            .trim()
            .parse()
            .map_err(|_| format!("bad duration {s:?}"))?;
        let ms = match unit {
            "ms" => 1.0,
            "s" => 1000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            _ => return Err(format!("bad duration unit in {s:?}")),
        };
        Ok(Dur((n * ms).round() as i64))
    }
}

impl std::fmt::Display for Dur {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 % 1000 == 0 {
            write!(f, "{}s", self.0 / 1000)
        } else {
            write!(f, "{}s", self.0 as f64 / 1000.0)
        }
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Dur, D::Error> {
        match Value::deserialize(d)? {
            Value::Number(n) => Ok(Dur((n.as_f64().unwrap_or(0.0) * 1000.0).round() as i64)),
            Value::String(s) => Dur::parse(&s).map_err(serde::de::Error::custom),
            other => Err(serde::de::Error::custom(format!(
                "a duration must be a string or a number, not {other}"
            ))),
        }
    }
}

/// One value or a list of them.
#[derive(Debug, Clone)]
pub struct OneOrMany<T>(pub Vec<T>);

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let items = match v {
            Value::Array(a) => a,
            other => vec![other],
        };
        items
            .into_iter()
            .map(|x| serde_json::from_value(x).map_err(serde::de::Error::custom))
            .collect::<Result<Vec<T>, _>>()
            .map(OneOrMany)
    }
}

impl<T: PartialEq> OneOrMany<T> {
    pub fn has(&self, x: &T) -> bool {
        self.0.contains(x)
    }
}

/// `Some(None)` for an explicit `null`, `None` when the field is missing.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// When a pod turns Ready.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReadyAt {
    At(Dur),
    Never,
}

impl<'de> Deserialize<'de> for ReadyAt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ReadyAt, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) if s == "never" => Ok(ReadyAt::Never),
            Value::String(s) => Dur::parse(&s)
                .map(ReadyAt::At)
                .map_err(serde::de::Error::custom),
            Value::Number(n) => Ok(ReadyAt::At(
                Dur((n.as_f64().unwrap_or(0.0) * 1000.0) as i64),
            )),
            other => Err(serde::de::Error::custom(format!("bad ready: {other}"))),
        }
    }
}

/// A pod condition: `Type` (status True) or `{type, status, reason}`.
#[derive(Debug, Clone)]
pub struct PodCond {
    pub type_: String,
    pub status: String,
    pub reason: Option<String>,
}

impl<'de> Deserialize<'de> for PodCond {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<PodCond, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Full {
            #[serde(rename = "type")]
            type_: String,
            #[serde(default)]
            status: Option<String>,
            #[serde(default)]
            reason: Option<String>,
        }
        match Value::deserialize(d)? {
            Value::String(s) => Ok(PodCond {
                type_: s,
                status: "True".into(),
                reason: None,
            }),
            v => {
                let f: Full = serde_json::from_value(v).map_err(serde::de::Error::custom)?;
                Ok(PodCond {
                    type_: f.type_,
                    status: f.status.unwrap_or_else(|| "True".into()),
                    reason: f.reason,
                })
            }
        }
    }
}

/// What a pod does. Selectors (`pod`, `index`, `attempt`) choose which pods follow it.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    pub pod: Option<OneOrMany<usize>>,
    pub index: Option<OneOrMany<i32>>,
    pub attempt: Option<OneOrMany<usize>>,
    pub start: Option<Dur>,
    pub ready: Option<ReadyAt>,
    pub succeed: Option<Dur>,
    pub fail: Option<Dur>,
    pub exit_code: Option<i32>,
    pub exit_codes: Option<BTreeMap<String, i32>>,
    #[serde(default)]
    pub restarts: Vec<Dur>,
    #[serde(default)]
    pub conditions: Vec<PodCond>,
    pub termination_delay: Option<Dur>,
    pub stop_exit_code: Option<i32>,
}

impl Rule {
    pub fn matches(&self, nth: usize, index: Option<i32>, attempt: usize) -> bool {
        self.pod.as_ref().is_none_or(|p| p.has(&nth))
            && self
                .index
                .as_ref()
                .is_none_or(|i| index.is_some_and(|x| i.has(&x)))
            && self.attempt.as_ref().is_none_or(|a| a.has(&attempt))
    }
}

#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Step {
    pub at: Dur,
    #[serde(default)]
    pub patch: Option<Value>,
    #[serde(default)]
    pub delete: Option<Delete>,
    #[serde(default)]
    pub add_pod: Option<AddPod>,
    #[serde(default)]
    pub expect: Option<Expect>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Delete {
    pub pod: Option<usize>,
    pub name: Option<String>,
    #[serde(default)]
    pub conditions: Vec<PodCond>,
    pub termination_delay: Option<Dur>,
    pub exit_code: Option<i32>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddPod {
    pub name: String,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub behaviour: Rule,
}

/// An expected Job condition.
#[derive(Debug, Clone)]
pub struct CondSpec {
    pub type_: String,
    pub status: String,
    pub reason: String,
    pub message: Option<String>,
    pub at: Option<Dur>,
}

impl<'de> Deserialize<'de> for CondSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<CondSpec, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Full {
            #[serde(rename = "type")]
            type_: String,
            #[serde(default)]
            status: Option<String>,
            reason: String,
            #[serde(default)]
            message: Option<String>,
            #[serde(default)]
            at: Option<Dur>,
        }
        let (type_, status, reason, message, at) = match Value::deserialize(d)? {
            Value::String(s) => {
                let (head, reason) = s.split_once('/').ok_or_else(|| {
                    serde::de::Error::custom(format!("condition {s:?}: want Type/Reason"))
                })?;
                let (type_, status) = head.split_once('=').unwrap_or((head, "True"));
                (type_.into(), status.into(), reason.into(), None, None)
            }
            v => {
                let f: Full = serde_json::from_value(v).map_err(serde::de::Error::custom)?;
                let status = f.status.unwrap_or_else(|| "True".into());
                (f.type_, status, f.reason, f.message, f.at)
            }
        };
        let message = message.or_else(|| standard_message(&reason).map(String::from));
        Ok(CondSpec {
            type_,
            status,
            reason,
            message,
            at,
        })
    }
}

/// upstream batch/v1 types.go (condition types and reasons): the fixed message of each standard reason.
pub fn standard_message(reason: &str) -> Option<&'static str> {
    Some(match reason {
        "JobSuspended" => "Job suspended",
        "JobResumed" => "Job resumed",
        "BackoffLimitExceeded" => "Job has reached the specified backoff limit",
        "DeadlineExceeded" => "Job was active longer than specified deadline",
        "MaxFailedIndexesExceeded" => {
            "Job has exceeded the specified maximal number of failed indexes"
        }
        "FailedIndexes" => "Job has failed indexes",
        "CompletionsReached" => "Reached expected number of succeeded pods",
        _ => return None,
    })
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expect {
    pub active: Option<i32>,
    pub succeeded: Option<i32>,
    pub failed: Option<i32>,
    pub ready: Option<i32>,
    pub terminating: Option<i32>,
    pub completed_indexes: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub failed_indexes: Option<Option<String>>,
    pub conditions: Option<Vec<CondSpec>>,
    #[serde(default, deserialize_with = "nullable")]
    pub start_time: Option<Option<Dur>>,
    #[serde(default, deserialize_with = "nullable")]
    pub completion_time: Option<Option<Dur>>,
    pub pods_created: Option<usize>,
    pub created: Option<Vec<Dur>>,
    pub indexes: Option<Vec<i32>>,
    pub pods: Option<Vec<PodExpect>>,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodExpect {
    pub pod: Option<usize>,
    pub name: Option<String>,
    pub created: Option<Dur>,
    pub phase: Option<String>,
    pub stopped: Option<bool>,
    pub counted: Option<bool>,
    #[serde(default)]
    pub annotations: BTreeMap<String, Option<String>>,
    #[serde(default)]
    pub labels: BTreeMap<String, Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub hostname: Option<Option<String>>,
    pub index_env: Option<bool>,
}

/// Every scenario of one file.
pub fn parse(text: &str) -> Result<Vec<Scenario>, String> {
    serde_saphyr::from_multiple::<Scenario>(text).map_err(|e| e.to_string())
}
