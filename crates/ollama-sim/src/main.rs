fn main() -> std::process::ExitCode {
    ollama_sim::main()
}
