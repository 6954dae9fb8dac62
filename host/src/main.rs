//! The `hellowatt` command. Everything lives in the library; this only
//! turns its result into an exit code.

fn main() -> std::process::ExitCode {
    hellowatt::cli::main()
}
