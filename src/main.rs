// The unwinder linked in statically (libgcc_eh, as `-static-libgcc` does) instead of as
// libgcc_s.so: loading that library and running its constructor (which probes the CPU, a trap to
// the hypervisor on a virtual machine) cost about 0.12 ms at every start. Listed by the program,
// not the library, so that a program built on the library keeps the unwinder it links.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[link(name = "gcc_eh", kind = "static", modifiers = "-bundle")]
unsafe extern "C" {}

/// Out of memory fails closed: the command's scope is ended, one line said, status 125. The poll
/// front end's (Unix) for now: the threaded one keeps the standard library's abort.
#[cfg(agentpipe_poll)]
#[global_allocator]
static ALLOCATOR: agentpipe::__CliAllocator = agentpipe::__CliAllocator;

fn main() {
    agentpipe::__cli_main()
}
