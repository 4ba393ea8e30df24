fn main() -> std::process::ExitCode {
    selfheal_core::cli::main(|cli: restart_guard::Cli| restart_guard::run(&cli))
}
