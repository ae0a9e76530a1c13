fn main() {
    agentpipe::cli::main()
}
