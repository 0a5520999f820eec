/// mimalloc instead of the system allocator: pricing-plugin calls, cart conversions and JSON are
/// allocation-heavy, and glibc's malloc/free took a quarter of a plugin call (`perf`); with
/// mimalloc one call on a 10-line cart went from 18.8 to 16.7 µs p50 (`bench -- plugins`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    commerce_engine::cli::main()
}
