// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Placeholder: replaced by the network module's counter program. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "srvmon_abi.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";
