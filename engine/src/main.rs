fn main() -> std::process::ExitCode {
    commerce_engine::cli::main()
}
