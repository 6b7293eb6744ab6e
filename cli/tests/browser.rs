//! The user journey in a real browser: headless Chromium driven over
//! WebDriver (ChromeDriver) through the real forms, with JavaScript on.
//! Saves a screenshot of the home page to `target/screenshots/home.png`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them).
//! Without them the test fails under CI (`CI` set) and is skipped, with a
//! note, elsewhere.

use fantoccini::{ClientBuilder, Locator};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn find(binary: &str) -> Option<String> {
    let out = Command::new("sh")
        .args(["-c", &format!("command -v {binary}")])
        .output()
        .ok()?;
    let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (out.status.success() && !path.is_empty()).then_some(path)
}

async fn start_driver(path: &str) -> (Driver, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while reqwest::get(format!("{url}/status")).await.is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not answer");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (Driver(child), url)
}

async fn wait_for_path(c: &fantoccini::Client, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let url = c.current_url().await.expect("url");
        if url.path() == path {
            return;
        }
        assert!(Instant::now() < deadline, "expected {path}, still at {url}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Run a WebDriver step on the element `css`, retrying (at most 10 s) while
/// the page is still loading or being replaced (missing or stale element).
async fn on_element<F, Fut>(c: &fantoccini::Client, css: &str, step: F)
where
    F: Fn(fantoccini::elements::Element) -> Fut,
    Fut: std::future::Future<Output = Result<(), fantoccini::error::CmdError>>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let result = match c.find(Locator::Css(css)).await {
            Ok(e) => step(e).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => return,
            Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(e) => panic!("{css}: {e}"),
        }
    }
}

async fn fill(c: &fantoccini::Client, css: &str, text: &str) {
    on_element(c, css, |field| async move {
        field.clear().await?;
        field.send_keys(text).await
    })
    .await;
}

async fn click(c: &fantoccini::Client, css: &str) {
    on_element(c, css, |e| async move { e.click().await }).await;
}

/// The text of the whole page, once it has loaded (its footer is there).
/// A navigation can replace the document between finding `body` and reading
/// it (a stale element): then read again, for at most 10 s.
async fn body_text(c: &fantoccini::Client) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let read = async {
            c.find(Locator::Css("footer.site")).await?;
            c.find(Locator::Css("body")).await?.text().await
        };
        match read.await {
            Ok(text) => return text,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("page text: {e}"),
        }
    }
}

/// The page text once `ready` holds for it (polled, at most 10 s): a form
/// post that lands on the same URL gives no other sign that it finished.
async fn text_when(c: &fantoccini::Client, ready: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = body_text(c).await;
        if ready(&text) || Instant::now() > deadline {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_uses_mythoughts_in_a_real_browser() {
    let (Some(driver_path), Some(chromium)) = (find("chromedriver"), find("chromium")) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the browser test: install chromium and chromium-driver"
        );
        eprintln!("skipped: chromium and chromedriver are not installed (apt-get install chromium chromium-driver)");
        return;
    };
    let data = tempfile::tempdir().expect("temp dir");
    let shutdown = CancellationToken::new();
    let args = mythoughts::up::UpArgs::new(0, data.path().to_path_buf());
    let system = mythoughts::up::start(&args, shutdown.clone())
        .await
        .unwrap_or_else(|e| panic!("system: {e}"));
    let base = system.urls.frontend.clone().expect("frontend");
    let users = system.urls.users.clone();
    let thoughts = system.urls.thoughts.clone();
    tokio::spawn(system.wait());
    testkit::wait_ready(&base).await;
    mythoughts::seed::seed(&users, &thoughts, &data.path().join("demo-password.txt"))
        .await
        .expect("demo data");

    let (_driver, driver_url) = start_driver(&driver_path).await;
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--disable-quic", "--window-size=1100,900"]
        }),
    );
    let c = ClientBuilder::rustls()
        .expect("connector")
        .capabilities(caps)
        .connect(&driver_url)
        .await
        .expect("session");

    // Signed out, home leads to the sign-in page; sign up from there.
    c.goto(&base).await.expect("goto");
    wait_for_path(&c, "/login/").await;
    click(&c, "a[href='/signup/']").await;
    wait_for_path(&c, "/signup/").await;
    fill(&c, "#username", "browser").await;
    fill(&c, "#password", "a long enough password").await;
    click(&c, "form.stack button[type=submit]").await;
    wait_for_path(&c, "/").await;
    assert!(body_text(&c).await.contains("@browser"));

    // The character counter works (JavaScript runs under the CSP).
    let first = "Hello from a real browser! Testing the whole stack, end to end.";
    fill(&c, "#text", first).await;
    let counter = c
        .find(Locator::Css("#counter"))
        .await
        .expect("counter")
        .text()
        .await
        .expect("text");
    assert_eq!(counter, format!("{} characters left", 250 - first.chars().count()));
    click(&c, ".compose button[type=submit]").await;
    wait_for_path(&c, "/thoughts/").await;
    fill(
        &c,
        "#text",
        "Search is served by an index on both SQLite and PostgreSQL.",
    )
    .await;
    click(&c, ".compose button[type=submit]").await;
    wait_for_path(&c, "/thoughts/").await;
    let page = text_when(&c, |t| t.contains("Search is served by an index")).await;
    assert!(page.contains("Hello from a real browser!"), "{page}");
    assert!(page.contains("just now"));

    // Screenshot of the home page, as evidence.
    c.goto(&base).await.expect("home");
    let png = c.screenshot().await.expect("screenshot");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    std::fs::write(dir.join("home.png"), &png).expect("write screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");

    // Search from the header box.
    fill(&c, "#q", "REAL BROWSER").await;
    click(&c, "form.search button").await;
    wait_for_path(&c, "/search").await;
    let results = body_text(&c).await;
    assert!(results.contains("Hello from a real browser!"), "{results}");
    assert!(!results.contains("Search is served"), "{results}");

    // The author's page, then delete a thought there... from the home page.
    click(&c, "a[href='/users/browser/']").await;
    wait_for_path(&c, "/users/browser/").await;
    assert!(body_text(&c).await.contains("Search is served by an index"));
    c.goto(&format!("{base}/thoughts/")).await.expect("mine");
    click(&c, "ol.thoughts li:first-child button.danger").await;
    let after = text_when(&c, |t| !t.contains("Search is served by an index")).await;
    assert!(!after.contains("Search is served by an index"), "{after}");
    assert!(after.contains("Hello from a real browser!"));

    // The book's sign-out address only shows a button: visiting it signs no one out.
    c.goto(&format!("{base}/logout/")).await.expect("sign-out page");
    wait_for_path(&c, "/logout/").await;
    c.goto(&format!("{base}/thoughts/")).await.expect("mine");
    wait_for_path(&c, "/thoughts/").await;
    // Sign out with the header's button (a form POST with the CSRF token).
    click(&c, "nav form[action='/logout/'] button[type=submit]").await;
    wait_for_path(&c, "/login/").await;
    c.goto(&base).await.expect("home");
    wait_for_path(&c, "/login/").await;

    c.close().await.expect("close session");
    shutdown.cancel();
}
