//! Captures every log line of every engine in this test process, so tests can assert that no
//! line leaks a password, hash or token. `TEST_LOG=1` also prints them.

use std::{
    io::Write,
    sync::{Mutex, Once, OnceLock},
};

use commerce_engine::config;

static CAPTURED: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
static INIT: Once = Once::new();

fn buffer() -> &'static Mutex<Vec<u8>> {
    CAPTURED.get_or_init(|| Mutex::new(Vec::new()))
}

#[derive(Clone, Copy)]
struct CaptureWriter;

impl Write for CaptureWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        buffer().lock().expect("log buffer").extend_from_slice(data);
        if std::env::var_os("TEST_LOG").is_some() {
            std::io::stdout().write_all(data)?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn init() {
    INIT.call_once(|| {
        let mut log = config::load_from_str("").expect("defaults").log;
        log.format = config::LogFormat::Json;
        log.level = "debug,sqlx=info,hyper=info,hyper_util=info,reqwest=info,h2=info".into();
        commerce_engine::telemetry::init(&log, || CaptureWriter);
    });
}

pub fn captured_logs() -> String {
    String::from_utf8_lossy(&buffer().lock().expect("log buffer")).into_owned()
}

pub fn logs_contain(needle: &str) -> bool {
    captured_logs().contains(needle)
}
