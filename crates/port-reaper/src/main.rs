fn main() -> std::process::ExitCode {
    selfheal_core::cli::main(|cli: port_reaper::Cli| port_reaper::run(&cli))
}
