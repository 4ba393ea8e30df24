//! `selfheal-docgen OUT_DIR`: writes every installed tool's man pages and
//! shell completions under OUT_DIR (see the library for the layout).

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let [out] = args.as_slice() else {
        eprintln!("usage: selfheal-docgen OUT_DIR (writes man1/, bash/, zsh/ and fish/ there)");
        return ExitCode::from(3);
    };
    match selfheal_docgen::write_all(std::path::Path::new(out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!(
                "selfheal-docgen: cannot write under {}: {err}",
                out.display()
            );
            ExitCode::from(2)
        }
    }
}
