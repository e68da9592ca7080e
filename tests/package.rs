//! Issue 11, item 6: the crate as `cargo package` ships it carries the
//! bundled client. Packs `polysock`, unpacks the `.crate`, builds a small
//! program against the unpacked copy (not the workspace's sources) and has
//! it fetch `<mount>/polysock.js` and `<mount>/polysock-http.js` from itself
//! over HTTP.

use std::path::{Path, PathBuf};
use std::process::Command;

const PROGRAM: &str = r#"
use axum::Router;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::main]
async fn main() {
    let server = polysock::Polysock::builder()
        .on_connect(|_socket| async {})
        .build()
        .expect("valid configuration");
    let app = Router::new().nest_service("/engine.io", server.service());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { polysock::serve(listener, app).await.unwrap() });
    for (file, script) in [("polysock.js", polysock::CLIENT_SCRIPT), ("polysock-http.js", polysock::CLIENT_HTTP_SCRIPT)] {
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "GET /engine.io/{file} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        );
        tcp.write_all(request.as_bytes()).await.unwrap();
        let mut reply = Vec::new();
        tcp.read_to_end(&mut reply).await.unwrap();
        let reply = String::from_utf8_lossy(&reply);
        let (head, body) = reply.split_once("\r\n\r\n").expect("a response");
        assert!(head.starts_with("HTTP/1.1 200"), "{file}: {head}");
        assert!(body.starts_with("/*! Polysock "), "{file}: {}", &body[..body.len().min(80)]);
        assert_eq!(body, script);
        println!("served {} bytes of {file} from the packaged crate", body.len());
    }
}
"#;

fn run(command: &mut Command) -> String {
    let output = command.output().expect("the command starts");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

#[test]
fn the_packaged_crate_serves_its_client() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = root.join("target").join("package-check");
    let _ = std::fs::remove_dir_all(work.join("unpacked"));
    std::fs::create_dir_all(work.join("unpacked")).unwrap();
    run(cargo()
        .current_dir(root)
        .args([
            "package",
            "-p",
            "polysock",
            "--allow-dirty",
            "--no-verify",
            "--offline",
        ])
        .arg("--target-dir")
        .arg(&work));
    let version = env!("CARGO_PKG_VERSION");
    let crate_file = work
        .join("package")
        .join(format!("polysock-{version}.crate"));
    run(Command::new("tar")
        .arg("xzf")
        .arg(&crate_file)
        .arg("-C")
        .arg(work.join("unpacked")));
    let unpacked: PathBuf = work.join("unpacked").join(format!("polysock-{version}"));
    for asset in ["assets/polysock.min.js", "assets/polysock-http.min.js"] {
        assert!(unpacked.join(asset).is_file(), "{asset} is in the package");
    }

    let program = work.join("program");
    std::fs::create_dir_all(program.join("src")).unwrap();
    std::fs::write(
        program.join("Cargo.toml"),
        format!(
            "[package]\nname = \"package-check\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
             [workspace]\n\n\
             [dependencies]\npolysock = {{ path = {:?} }}\naxum = \"0.8\"\n\
             tokio = {{ version = \"1\", features = [\"full\"] }}\n",
            unpacked.display().to_string()
        ),
    )
    .unwrap();
    std::fs::write(program.join("src/main.rs"), PROGRAM).unwrap();
    // The workspace's lock file pins the versions already downloaded.
    std::fs::copy(root.join("Cargo.lock"), program.join("Cargo.lock")).unwrap();
    let out = run(cargo()
        .current_dir(&program)
        .args(["run", "--quiet", "--offline"])
        .arg("--target-dir")
        .arg(work.join("target")));
    assert!(out.contains("served"), "{out}");
}
