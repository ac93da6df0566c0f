// The process's open-file limit (RLIMIT_NOFILE).
#pragma once

namespace cohost::net {

// Raises the soft open-file limit to the hard limit, so a process serving many connections is
// bounded by what the administrator allows rather than the conventional 1024 default. Returns
// the soft limit in force afterwards (-1 when it cannot be read). Call once, early in main;
// children started afterwards inherit it.
long RaiseDescriptorLimit();

// The soft open-file limit now (-1 when it cannot be read).
long DescriptorLimit();

}  // namespace cohost::net
