fn main() -> std::process::ExitCode {
    selfheal_core::cli::main(|cli: ollama_frozen_check::Cli| ollama_frozen_check::run(&cli))
}
