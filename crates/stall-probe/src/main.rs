fn main() -> std::process::ExitCode {
    selfheal_core::cli::main(|cli: stall_probe::Cli| stall_probe::run(&cli))
}
