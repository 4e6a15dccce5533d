"""Acceptance test of `wasmjob serve --listen` with the official Python client (`kubernetes`).

Creates an Indexed Job (3 completions, 3 in parallel) whose pods print their completion index,
watches it until it has a Complete or Failed condition, then reads each pod's log. Prints one
JSON line for the Job and one per pod (sorted by index); exits non-zero on any failure, a Job
that Failed included.

Usage: indexed_job.py KUBECONFIG IMAGE [NAME]
"""

import json
import sys

from kubernetes import client, config, watch


def main():
    kubeconfig, image = sys.argv[1], sys.argv[2]
    name = sys.argv[3] if len(sys.argv) > 3 else "shards"
    config.load_kube_config(config_file=kubeconfig)
    batch, core = client.BatchV1Api(), client.CoreV1Api()

    job = client.V1Job(
        api_version="batch/v1",
        kind="Job",
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1JobSpec(
            completion_mode="Indexed",
            completions=3,
            parallelism=3,
            backoff_limit=0,
            template=client.V1PodTemplateSpec(
                spec=client.V1PodSpec(
                    restart_policy="Never",
                    containers=[
                        client.V1Container(
                            name="shard",
                            image=image,
                            args=["print", "shard $(JOB_COMPLETION_INDEX) of 3"],
                        )
                    ],
                )
            ),
        ),
    )
    created = batch.create_namespaced_job("default", job)
    assert created.metadata.name == name, created.metadata.name

    final = None
    w = watch.Watch()
    for event in w.stream(
        batch.list_namespaced_job,
        "default",
        field_selector=f"metadata.name={name}",
        timeout_seconds=60,
    ):
        obj = event["object"]
        conditions = (obj.status and obj.status.conditions) or []
        if any(c.type in ("Complete", "Failed") and c.status == "True" for c in conditions):
            final = obj
            w.stop()
    if final is None:
        sys.exit(f"the watch ended without a Complete or Failed condition on job {name}")

    print(
        json.dumps(
            {
                "job": final.metadata.name,
                "conditions": [
                    {"type": c.type, "status": c.status, "reason": c.reason}
                    for c in final.status.conditions
                ],
                "succeeded": final.status.succeeded,
                "failed": final.status.failed,
                "completedIndexes": final.status.completed_indexes,
            }
        )
    )

    pods = core.list_namespaced_pod(
        "default", label_selector=f"batch.kubernetes.io/job-name={name}"
    ).items
    index_key = "batch.kubernetes.io/job-completion-index"
    pods.sort(key=lambda p: int(p.metadata.annotations[index_key]))
    for pod in pods:
        log = core.read_namespaced_pod_log(pod.metadata.name, "default")
        print(
            json.dumps(
                {
                    "pod": pod.metadata.name,
                    "index": pod.metadata.annotations[index_key],
                    "phase": pod.status.phase,
                    "log": log,
                }
            )
        )
    if not any(c.type == "Complete" and c.status == "True" for c in final.status.conditions):
        sys.exit(f"job {name} did not complete")


if __name__ == "__main__":
    main()
