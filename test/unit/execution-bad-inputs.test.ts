// Bad inputs to the execution engine, each with the exact message a user sees and its code.
// Nothing here reaches the network: spec and template errors stop before any I/O, targeting and
// guard checks are pure, and the Kubernetes client points at a closed loopback port.
import { KubeConfig } from '@kubernetes/client-node';
import type { V1Service } from '@kubernetes/client-node';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Handler } from '../../shared/resources.js';
import { NetworkGuard } from '../../workers/execution/network-guard.js';
import { runHandler } from '../../workers/execution/run-handler.js';
import { execTargets, networkDestinations, type Placement, type PodRef } from '../../workers/execution/targeting.js';
import { kubeAccessFromConfig, type HookContext } from '../../workers/execution/types.js';
import { SEED_SUMMARY } from '../fixtures/execution/seed-summary.js';

const kc = new KubeConfig();
kc.loadFromOptions({
  clusters: [{ name: 'c', server: 'http://127.0.0.1:1', skipTLSVerify: true }],
  users: [{ name: 'u' }],
  contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
  currentContext: 'x',
});
const deps = { kube: kubeAccessFromConfig(kc) };
const local: HookContext = {
  hookName: 'postBackup',
  scope: 'local',
  namespace: 'demo',
  target: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
  summary: SEED_SUMMARY,
};
const global: HookContext = { ...local, hookName: 'preBackup', scope: 'global', target: undefined };
const run =
  (h: unknown, ctx: HookContext = local) =>
  () =>
    runHandler(h as Handler, ctx, deps);

const pod = (name: string, containers: PodRef['containers'], ip?: string): PodRef => ({ namespace: 'demo', name, ip, containers });
const web0 = pod('web-0', [{ name: 'app', ports: [{ name: 'http', containerPort: 8080 }] }, { name: 'sidecar' }], '127.0.0.3');
const pods: Placement = { kind: 'pods', pods: [web0] };
const service: Placement = {
  kind: 'service',
  host: 'db.demo.svc',
  service: { spec: { ports: [{ name: 'sql', port: 3306 }] } } as V1Service,
  pod: pod('db-0', [{ name: 'mysql' }]),
  appBinding: 'AppBinding demo/db',
};
const url: Placement = { kind: 'url', url: 'https://db.example.com:5432', appBinding: 'AppBinding demo/ext' };
const none: Placement = { kind: 'none', what: 'PersistentVolumeClaim demo/data' };
const guard = new NetworkGuard();

type Case = [name: string, action: () => unknown, code: string, message: string];
const T = 'ERR_TEMPLATE';
const S = 'ERR_HOOK_SPEC';
const G = 'ERR_TARGET';
const N = 'ERR_NETWORK_DENIED';
const C = 'ERR_CONFIG';

const cases: Case[] = [
  // Hook spec (validated before anything runs)
  ['no action', run({}), S, 'postBackup: no action set (exec, httpGet, httpPost or tcpSocket)'],
  ['empty exec command', run({ exec: { command: [] } }), S, 'postBackup.exec.command: must be a non-empty list of strings'],
  ['httpGet without port', run({ httpGet: { host: 'h' } }), S, 'postBackup.httpGet.port: required (1-65535 or an IANA port name)'],
  ['port out of range', run({ tcpSocket: { host: 'h', port: 70000 } }), S, 'postBackup.tcpSocket.port: must be 1-65535 or an IANA port name'],
  ['bad scheme', run({ httpGet: { port: 80, scheme: 'FTP' } }), S, 'postBackup.httpGet.scheme: "FTP" is not one of HTTP, HTTPS'],
  [
    'host with a scheme',
    run({ httpGet: { host: 'http://x', port: 80 } }),
    S,
    'postBackup.httpGet.host: "http://x" must be a host name or IP address without scheme or path (use scheme and path)',
  ],
  ['zero timeout', run({ tcpSocket: { host: 'h', port: 1 }, timeoutSeconds: 0 }), S, 'postBackup.timeoutSeconds: must be an integer 1-86400'],
  [
    'bad strategy',
    run({ exec: { command: ['true'] }, executor: { pod: { selector: 'app=x', strategy: 'Everywhere' } } }),
    S,
    'postBackup.executor.pod.strategy: "Everywhere" is not one of ExecuteOnOne, ExecuteOnAll',
  ],
  [
    'global exec without executor',
    run({ exec: { command: ['true'] } }, global),
    S,
    "preBackup.exec: a global hook runs in no target's pods; set executor.pod to choose them",
  ],
  ['global tcp without host', run({ tcpSocket: { port: 5432 } }, global), S, 'preBackup.tcpSocket.host: a global hook needs host (or executor.pod)'],
  [
    'header without value',
    run({ httpGet: { host: 'h', port: 80, httpHeaders: [{ name: 'X-A' }] } }),
    S,
    'postBackup.httpGet.httpHeaders[0]: set value or valueFrom.secretKeyRef',
  ],
  [
    'policy on a pre hook',
    run({ exec: { command: ['true'] }, executionPolicy: 'Always' }, { ...local, hookName: 'preBackup' }),
    S,
    'preBackup.executionPolicy: only postBackup and postRestore hooks have an executionPolicy',
  ],

  // Templates, named by field
  [
    'unknown variable in body',
    run({ httpPost: { host: 'h', port: 80, body: 'a\nb\n{{ Status.Eror }}' } }),
    T,
    'template error in httpPost.body, line 3: unknown variable Status.Eror',
  ],
  [
    'unknown Go field in body',
    run({ httpPost: { host: 'h', port: 80, body: 'a\nb\n{{ .Status.Eror }}' } }),
    T,
    "template error in httpPost.body, line 3, col 4: can't evaluate field Eror in type v1beta1.TargetStatus at <.Status.Eror> (did you mean Error?)",
  ],
  [
    'unknown variable in path',
    run({ httpGet: { host: 'h', port: 80, path: '/x/{{ .Session }}' } }),
    T,
    "template error in httpGet.path, line 1, col 7: can't evaluate field Session in type *v1beta1.Summary at <.Session> (v1beta1.Summary has Name, Namespace, Invoker, Target, Status, RetryLeft)",
  ],
  [
    'unknown variable in command',
    run({ exec: { command: ['echo', '{{ target.namespce }}'] } }),
    T,
    'template error in exec.command[1], line 1: unknown variable target.namespce',
  ],
  [
    'bad header template',
    run({
      httpGet: {
        host: 'h',
        port: 80,
        httpHeaders: [
          { name: 'X-A', value: 'ok' },
          { name: 'X-B', value: '{{ Name | nope }}' },
        ],
      },
    }),
    T,
    'template error in httpGet.httpHeaders[1].value, line 1: unknown filter nope',
  ],
  [
    'bad form value',
    run({ httpPost: { host: 'h', port: 80, form: [{ key: 'msg', values: ['{{ Name'] }] } }),
    T,
    'template error in httpPost.form.msg, line 1: output "{{ Name" not closed',
  ],
  [
    'unclosed tag',
    run({ httpPost: { host: 'h', port: 80, body: '{% if Name %}x' } }),
    T,
    'template error in httpPost.body, line 1: tag {% if Name %} not closed',
  ],
  [
    'include',
    run({ httpPost: { host: 'h', port: 80, body: '{% include "/etc/passwd" %}' } }),
    T,
    'template error in httpPost.body, line 1: tag include is not allowed (templates cannot read files)',
  ],
  ['environment', run({ exec: { command: ['echo', '{{ process.env.HOME }}'] } }), T, 'template error in exec.command[1], line 1: unknown variable process'],
  [
    'seed spelling',
    run({ exec: { command: ['echo', '{{ .Invoker.ApiVersion }}'] } }),
    T,
    "template error in exec.command[1], line 1, col 4: can't evaluate field ApiVersion in type v1.TypedLocalObjectReference at <.Invoker.ApiVersion> (v1.TypedLocalObjectReference has APIGroup, Kind, Name)",
  ],
  [
    'Go variable never declared',
    run({ httpPost: { host: 'h', port: 80, body: '{{ toJson $msg }}' } }),
    T,
    'template error in httpPost.body, line 1, col 11: undefined variable "$msg"',
  ],
  [
    'unknown Go function',
    run({ exec: { command: ['echo', '{{ if .Status.Error }}{{ sortAlpha .Name }}{{ end }}'] } }),
    T,
    'template error in exec.command[1], line 1, col 26: function "sortAlpha" not defined',
  ],
  [
    'Go syntax inside a Liquid template',
    run({ httpPost: { host: 'h', port: 80, body: '{% if name %}{{ toJson $msg }}{% endif %}' } }),
    T,
    'template error in httpPost.body, line 1: expected "|" before filter (Go syntax inside a Liquid template: a string is Liquid when it has a Liquid tag or filter; use one dialect per field, see docs/templating.md)',
  ],
  [
    'unknown tag',
    run({ httpPost: { host: 'h', port: 80, body: '{% define x %}{{ name }}' } }),
    T,
    'template error in httpPost.body, line 1: unknown tag define',
  ],

  // Targeting
  ['unknown container', () => execTargets(pods, 'mysql'), G, 'container "mysql" not found in pod demo/web-0 (containers: app, sidecar)'],
  ['pod without containers', () => execTargets({ kind: 'pods', pods: [pod('empty-0', [])] }, undefined), G, 'pod demo/empty-0 has no containers'],
  [
    'exec on a URL-only AppBinding',
    () => execTargets(url, undefined),
    G,
    'AppBinding demo/ext has only clientConfig.url (https://db.example.com:5432), so an exec hook has no pod to run in; set executor.pod to choose one',
  ],
  ['exec on a PVC', () => execTargets(none, undefined), G, 'exec: PersistentVolumeClaim demo/data runs in no pod; set executor.pod to choose the pods'],
  ['unknown container in the AppBinding pod', () => execTargets(service, 'postgres'), G, 'container "postgres" not found in pod demo/db-0 (containers: mysql)'],
  [
    'unknown named port',
    () => networkDestinations({ port: 'metrics' }, pods, undefined, 'httpGet.port'),
    G,
    'httpGet.port "metrics" not found in pod demo/web-0 (named ports: http)',
  ],
  [
    'named port with host and no pod',
    () => networkDestinations({ host: 'x', port: 'http' }, undefined, undefined, 'tcpSocket.port'),
    G,
    'tcpSocket.port "http" is a port name, but this hook has no pod to look it up in; use a number',
  ],
  [
    'named port on a URL AppBinding',
    () => networkDestinations({ port: 'sql' }, url, undefined, 'tcpSocket.port'),
    G,
    'tcpSocket.port "sql" is a port name, but AppBinding demo/ext has only a URL; use a number',
  ],
  [
    'malformed AppBinding URL',
    () => networkDestinations({ port: 5432 }, { kind: 'url', url: 'db example com', appBinding: 'AppBinding demo/bad' }, undefined, 'tcpSocket.port'),
    G,
    'tcpSocket: AppBinding demo/bad has spec.clientConfig.url "db example com", which is not a URL',
  ],
  [
    'pod without an IP',
    () => networkDestinations({ port: 80 }, { kind: 'pods', pods: [pod('new-0', [{ name: 'a' }])] }, undefined, 'httpGet.port'),
    G,
    'httpGet: pod demo/new-0 has no IP yet',
  ],
  [
    'HTTP on a PVC without host',
    () => networkDestinations({ port: 80 }, none, undefined, 'httpPost.port'),
    G,
    'httpPost: PersistentVolumeClaim demo/data has no pod or service to connect to; set httpPost.host or executor.pod',
  ],
  [
    'named port missing on the Service and pod',
    () => networkDestinations({ port: 'admin' }, service, undefined, 'httpGet.port'),
    G,
    'httpGet.port "admin" not found in pod demo/db-0 (named ports: none)',
  ],

  // Infrastructure: the API server is unreachable (a closed loopback port), retried by the worker
  [
    'API server down',
    run({ exec: { command: ['true'] } }),
    'ERR_KUBERNETES',
    'reading Deployment demo/web: request to http://127.0.0.1:1/apis/apps/v1/namespaces/demo/deployments/web failed, reason: connect ECONNREFUSED 127.0.0.1:1',
  ],

  // Network guard (more in network-guard.test.ts)
  [
    'metadata address',
    () => guard.checkAddress('169.254.169.254', '169.254.169.254'),
    N,
    'network guard refused address 169.254.169.254: it is a cloud metadata address (169.254.169.254/32); only the platform admin can allow it (--allow-cidrs)',
  ],
  [
    'metadata behind a name',
    () => guard.checkAddress('metadata.google.internal', '169.254.169.254'),
    N,
    'network guard refused host metadata.google.internal (address 169.254.169.254): it is a cloud metadata address (169.254.169.254/32); only the platform admin can allow it (--allow-cidrs)',
  ],
  [
    'IPv4-mapped metadata',
    () => guard.checkAddress('x', '::ffff:169.254.169.254'),
    N,
    'network guard refused host x (address 169.254.169.254): it is a cloud metadata address (169.254.169.254/32); only the platform admin can allow it (--allow-cidrs)',
  ],
  [
    'AWS IPv6 metadata',
    () => guard.checkAddress('fd00:ec2::254', 'fd00:ec2::254'),
    N,
    'network guard refused address fd00:ec2::254: it is a cloud metadata address (fd00:ec2::254/128); only the platform admin can allow it (--allow-cidrs)',
  ],
  [
    'IPv6 link-local',
    () => guard.checkAddress('fe80::1', 'fe80::1'),
    N,
    'network guard refused address fe80::1: it is link-local (fe80::/10); only the platform admin can allow it (--allow-cidrs)',
  ],
  [
    'loopback outside devcluster',
    () => new NetworkGuard().checkAddress('localhost', '127.0.0.1'),
    N,
    'network guard refused host localhost (address 127.0.0.1): it is loopback (127.0.0.0/8); only the platform admin can allow it (--allow-cidrs)',
  ],
  [
    'deny beats allow',
    () => new NetworkGuard({ allow: ['127.0.0.0/8'], deny: ['127.0.0.9/32'] }).checkAddress('127.0.0.9', '127.0.0.9'),
    N,
    'network guard refused address 127.0.0.9: it matches deny rule 127.0.0.9/32',
  ],
  [
    'a resolver answer with one denied address',
    () =>
      new NetworkGuard({
        allowLoopback: true,
        lookup: async () => [
          { address: '127.0.0.1', family: 4 },
          { address: '169.254.1.1', family: 4 },
        ],
      }).resolve('mixed.example'),
    N,
    'network guard refused host mixed.example (address 169.254.1.1): it is link-local (169.254.0.0/16); only the platform admin can allow it (--allow-cidrs)',
  ],
  ['bad deny CIDR', () => new NetworkGuard({ deny: ['10.0.0.0/33'] }), C, 'network.deny: "10.0.0.0/33" is not a CIDR such as 10.0.0.0/8 or fd00::/8'],
  ['bad allow CIDR', () => new NetworkGuard({ allow: ['example.com'] }), C, 'network.allow: "example.com" is not a CIDR such as 10.0.0.0/8 or fd00::/8'],
];

for (const [name, action, code, message] of cases) {
  test(name, async () => {
    let caught: unknown;
    try {
      await action();
    } catch (err) {
      caught = err;
    }
    assert.ok(caught, 'expected an error');
    assert.is((caught as Error).message, message);
    assert.is((caught as { code?: string }).code, code);
  });
}

test('the table is long enough to matter', () => {
  assert.ok(cases.length >= 40, `${cases.length} cases`);
});

test('loopback is allowed in devcluster mode, and an allow rule exempts a built-in one', () => {
  const devcluster = new NetworkGuard({ allowLoopback: true });
  devcluster.checkAddress('localhost', '127.0.0.1');
  devcluster.checkAddress('localhost', '::1');
  new NetworkGuard({ allow: ['127.0.0.7/32'] }).checkAddress('pod', '127.0.0.7');
  new NetworkGuard().checkAddress('svc', '10.1.2.3');
});

test.run();
