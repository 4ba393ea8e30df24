fn main() -> std::process::ExitCode {
    selfheal_core::cli::main(|cli: gpu_probe::Cli| gpu_probe::run(&cli))
}
