/* libbpf's messages, routed into the agent's log (debug level). */
#ifndef SRVMON_BPF_LOG_H
#define SRVMON_BPF_LOG_H

/* Installs the route; every BPF loader calls it before opening its skeleton. */
void bpf_log_init(void);

#endif
