// Where the standard library reads the program's arguments by itself (Linux with the GNU C
// library, see src/platform/build.rs), the program starts at its own C `main` instead of the
// standard library's runtime start, which reads /proc/self/maps for the main thread's stack
// guard and sets up an alternate signal stack and SIGSEGV/SIGBUS handlers, to say "has
// overflowed its stack" where agentpipe, which does not recurse, would crash anyway: 0.06 to
// 0.08 ms of every start (paired medians of 600 alternating runs of `agentpipe -- true`, see
// benches/README.md's History). What else that start does agentpipe does itself: SIGPIPE
// ignored, a panic ends with status 101, closed standard descriptors filled.
#![cfg_attr(all(agentpipe_own_start, not(test)), no_main)]

// The unwinder linked in statically (libgcc_eh, as `-static-libgcc` does) instead of as
// libgcc_s.so: loading that library and running its constructor (which probes the CPU, a trap to
// the hypervisor on a virtual machine) cost about 0.12 ms at every start. Listed by the program,
// not the library, so that a program built on the library keeps the unwinder it links.
#[cfg(agentpipe_static_unwinder)]
#[link(name = "gcc_eh", kind = "static", modifiers = "-bundle")]
unsafe extern "C" {}

/// Out of memory fails closed: the command's scope is ended, one line said, status 125. The poll
/// front end's (Unix) for now: the threaded one keeps the standard library's abort.
#[cfg(agentpipe_poll)]
#[global_allocator]
static ALLOCATOR: agentpipe::__CliAllocator = agentpipe::__CliAllocator;

#[cfg(all(agentpipe_own_start, not(test)))]
#[unsafe(no_mangle)]
extern "C" fn main() -> std::ffi::c_int {
    agentpipe::__cli_start()
}

#[cfg(any(not(agentpipe_own_start), test))]
fn main() {
    agentpipe::__cli_main()
}
