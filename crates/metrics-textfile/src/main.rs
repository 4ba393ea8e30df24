fn main() -> std::process::ExitCode {
    selfheal_core::cli::main(|cli: metrics_textfile::Cli| metrics_textfile::run(&cli))
}
