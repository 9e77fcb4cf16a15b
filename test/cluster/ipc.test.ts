import t from 'tap'
import { clusterScenario } from './scenario.js'

// Two node:cluster workers on one port, one server through the primary (clusterIpcAdapter + clusterPrimary).
t.test('node:cluster workers with the IPC adapter', (t) => clusterScenario(t, { CLUSTER_ADAPTER: 'ipc' }, 0))
