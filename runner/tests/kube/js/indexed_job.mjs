// Acceptance test of `wasmjob serve --listen` with the official JavaScript client
// (@kubernetes/client-node 1.x), as runner/tests/kube_clients.rs runs it.
//
// Creates an Indexed Job (3 completions, 3 in parallel) whose pods print their index, follows
// it with an informer until it is Complete (printing one JSON line), waits for the informer to
// see a label `reviewed=yes` that another client sets, reads each pod's log, deletes the Job
// with `propagationPolicy: Background` (which this client sends in the query, with no body)
// and waits until its pods are gone. One JSON line per step; exits non-zero on any failure.
//
// Usage: node indexed_job.mjs KUBECONFIG IMAGE NAME

import * as k8s from '@kubernetes/client-node';

const [kubeconfig, image, name] = process.argv.slice(2);
const namespace = 'default';
const say = (line) => console.log(JSON.stringify(line));
const fail = (why) => {
  console.error(`indexed_job.mjs: ${why}`);
  process.exit(1);
};
setTimeout(() => fail('gave up after 90 s'), 90_000).unref();

const kc = new k8s.KubeConfig();
kc.loadFromFile(kubeconfig);
const batch = kc.makeApiClient(k8s.BatchV1Api);
const core = kc.makeApiClient(k8s.CoreV1Api);

await batch.createNamespacedJob({
  namespace,
  body: {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      completionMode: 'Indexed',
      completions: 3,
      parallelism: 3,
      backoffLimit: 0,
      template: {
        spec: {
          restartPolicy: 'Never',
          containers: [{ name: 'shard', image, args: ['print', 'shard $(JOB_COMPLETION_INDEX) of 3'] }],
        },
      },
    },
  },
});

// One informer follows the Job through every step.
const informer = k8s.makeInformer(
  kc,
  `/apis/batch/v1/namespaces/${namespace}/jobs`,
  () => batch.listNamespacedJob({ namespace }),
);
const waiters = [];
const until = (check) =>
  new Promise((resolve) => {
    for (const job of informer.list(namespace)) {
      if (job.metadata?.name === name && check(job)) return resolve(job);
    }
    waiters.push({ check, resolve });
  });
const look = (job) => {
  if (job.metadata?.name !== name) return;
  for (const w of waiters.splice(0)) {
    if (w.check(job)) w.resolve(job);
    else waiters.push(w);
  }
};
informer.on('add', look);
informer.on('update', look);
let stopping = false;
informer.on('error', (e) => stopping || fail(`the informer failed: ${e}`));
await informer.start();

const ended = (job) =>
  (job.status?.conditions ?? []).some(
    (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
  );
const final = await until(ended);
say({
  job: final.metadata.name,
  conditions: final.status.conditions.map((c) => ({ type: c.type, status: c.status, reason: c.reason })),
  succeeded: final.status.succeeded ?? null,
  completedIndexes: final.status.completedIndexes ?? null,
});

// Another client labels the Job once it has read the line above.
const labelled = await until((job) => job.metadata?.labels?.reviewed === 'yes');
say({ label: labelled.metadata.labels.reviewed, resourceVersion: labelled.metadata.resourceVersion });

const indexKey = 'batch.kubernetes.io/job-completion-index';
const pods = (await core.listNamespacedPod({ namespace, labelSelector: `batch.kubernetes.io/job-name=${name}` })).items;
pods.sort((a, b) => Number(a.metadata.annotations[indexKey]) - Number(b.metadata.annotations[indexKey]));
for (const pod of pods) {
  const log = await core.readNamespacedPodLog({ name: pod.metadata.name, namespace });
  say({ pod: pod.metadata.name, index: pod.metadata.annotations[indexKey], phase: pod.status.phase, log });
}

const gone = new Promise((resolve) => informer.on('delete', (job) => job.metadata?.name === name && resolve()));
await batch.deleteNamespacedJob({ name, namespace, propagationPolicy: 'Background' });
await gone;
let left = pods.length;
for (let i = 0; i < 300 && left > 0; i++) {
  await new Promise((r) => setTimeout(r, 100));
  left = (await core.listNamespacedPod({ namespace, labelSelector: `batch.kubernetes.io/job-name=${name}` })).items.length;
}
say({ deleted: name, podsLeft: left });
stopping = true;
await informer.stop();
process.exit(left === 0 && final.status.conditions.some((c) => c.type === 'Complete') ? 0 : 1);
