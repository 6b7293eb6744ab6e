//! The user journey in a real browser: headless Chromium driven over
//! WebDriver (ChromeDriver) through the real forms, with JavaScript on.
//! Every page it visits is audited with axe-core (issue 14): any violation,
//! of any impact, fails the test. A second journey uses the keyboard alone,
//! and the home page is checked at 200 % zoom and 360 pixels wide.
//! Saves screenshots of the home page to `target/screenshots/` (`home.png`,
//! `home-zoom200.png`, `home-360.png`).
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them)
//! and, for axe-core, `python3 -m pip` and the network once: axe is read from
//! the `axe-selenium-python` wheel on PyPI at test time and cached under
//! `target/axe/` (it is not part of the repository). Without them the test
//! fails under CI (`CI` set); elsewhere it is skipped (no browser) or runs
//! without the audits (no axe), with a note.

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{ClientBuilder, Locator};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The PyPI release whose wheel carries axe-core (3.1.1) and where in it.
const AXE_WHEEL: &str = "axe-selenium-python==2.1.6";
const AXE_IN_WHEEL: &str = "axe_selenium_python/node_modules/axe-core/axe.min.js";

/// Under CI nothing this test needs may be missing.
fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target")
}

/// axe-core's source: from the cache under `target/axe/`, else downloaded
/// from PyPI with pip (the wheel only, no dependencies) and read out of the
/// wheel with Python's `zipfile`, then cached for the next runs.
fn fetch_axe() -> Result<String, String> {
    let cache = target_dir().join("axe").join("axe-selenium-python-2.1.6.axe.min.js");
    if let Ok(source) = std::fs::read_to_string(&cache)
        && source.contains("axe.version")
    {
        return Ok(source);
    }
    let wheel_dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let download = Command::new("python3")
        .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
        .args(["--disable-pip-version-check", "--quiet", "--dest"])
        .arg(wheel_dir.path())
        .arg(AXE_WHEEL)
        .output()
        .map_err(|e| format!("python3 -m pip: {e}"))?;
    if !download.status.success() {
        return Err(format!(
            "pip download {AXE_WHEEL}: {}",
            String::from_utf8_lossy(&download.stderr)
        ));
    }
    let extract = Command::new("python3")
        .args([
            "-c",
            "import glob, sys, zipfile\n\
             [wheel] = glob.glob(sys.argv[1] + '/*.whl')\n\
             sys.stdout.buffer.write(zipfile.ZipFile(wheel).read(sys.argv[2]))",
        ])
        .arg(wheel_dir.path())
        .arg(AXE_IN_WHEEL)
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    let source = String::from_utf8(extract.stdout).map_err(|e| format!("axe.min.js: {e}"))?;
    if !extract.status.success() || !source.contains("axe.version") {
        return Err(format!(
            "{AXE_IN_WHEEL} not in the wheel: {}",
            String::from_utf8_lossy(&extract.stderr)
        ));
    }
    // Written whole or not at all: a parallel run never reads half a file.
    let dir = cache.parent().expect("the cache file has a folder");
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut part = tempfile::NamedTempFile::new_in(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    std::io::Write::write_all(&mut part, source.as_bytes()).map_err(|e| format!("cache: {e}"))?;
    part.persist(&cache).map_err(|e| format!("cache: {e}"))?;
    Ok(source)
}

/// Runs axe-core in the page (its default rules and the experimental ones,
/// such as `link-in-text-block` and `focus-order-semantics`) and hands back
/// what the test needs of its result.
const RUN_AXE: &str = r#"
const done = arguments[arguments.length - 1];
const experimental = {};
axe.getRules(["experimental"]).forEach(r => { experimental[r.ruleId] = { enabled: true }; });
axe.run(document, { rules: experimental }).then(r => done({
  violations: r.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({ target: n.target.join(" "), html: n.html, summary: n.failureSummary })),
  })),
  ran: [].concat(r.passes, r.violations, r.incomplete, r.inapplicable).map(x => x.id),
  incomplete: r.incomplete.map(x => x.id),
}), e => done({ error: String(e) }));
"#;

/// The axe audits of one run: every violation found, on which page.
struct Audits {
    /// axe-core's source, or `None` when it could not be fetched (outside CI).
    axe: Option<String>,
    failures: Vec<String>,
    pages: Vec<String>,
    rules: std::collections::BTreeSet<String>,
}

impl Audits {
    fn new() -> Self {
        let axe = match fetch_axe() {
            Ok(source) => Some(source),
            Err(e) if in_ci() => panic!("CI must run the accessibility audits: {e}"),
            Err(e) => {
                eprintln!("note: the axe audits are skipped, axe-core could not be fetched: {e}");
                None
            }
        };
        Audits {
            axe,
            failures: Vec::new(),
            pages: Vec::new(),
            rules: Default::default(),
        }
    }

    /// Audit the page now shown (once it has loaded), naming it `page`.
    async fn check(&mut self, c: &fantoccini::Client, page: &str) {
        let Some(axe) = &self.axe else { return };
        wait_loaded(c).await;
        // WebDriver scripts are not subject to the page's CSP (`script-src 'self'`).
        let loaded = c
            .execute(&format!("{axe}\nreturn typeof window.axe;"), vec![])
            .await
            .expect("inject axe-core");
        assert_eq!(loaded, json!("object"), "axe-core did not load on {page}");
        let result = c.execute_async(RUN_AXE, vec![]).await.expect("axe.run");
        assert!(result.get("error").is_none(), "axe.run on {page}: {result}");
        let url = c.current_url().await.expect("url");
        self.pages.push(format!("{page} ({})", url.path()));
        let ids = |key: &str| -> Vec<String> {
            result[key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        };
        self.rules.extend(ids("ran"));
        let incomplete = ids("incomplete");
        if !incomplete.is_empty() {
            eprintln!(
                "axe on {page}: to review by hand (incomplete): {}",
                incomplete.join(", ")
            );
        }
        for v in result["violations"].as_array().into_iter().flatten() {
            for n in v["nodes"].as_array().into_iter().flatten() {
                let failure = format!(
                    "{page} ({}): {} [{}] {}\n    at {}: {}\n    {}\n    {}",
                    url.path(),
                    v["id"].as_str().unwrap_or_default(),
                    v["impact"].as_str().unwrap_or("?"),
                    v["help"].as_str().unwrap_or_default(),
                    n["target"].as_str().unwrap_or_default(),
                    n["html"].as_str().unwrap_or_default(),
                    n["summary"].as_str().unwrap_or_default().replace('\n', "\n    "),
                    v["helpUrl"].as_str().unwrap_or_default(),
                );
                // Shown at once too, in case a later step fails first.
                eprintln!("axe violation on {failure}");
                self.failures.push(failure);
            }
        }
    }

    /// Fail with every violation found, if there was any.
    fn assert_clean(&self) {
        if self.axe.is_none() {
            return;
        }
        eprintln!(
            "axe-core audited {} pages with {} rules: {}\nrules: {}",
            self.pages.len(),
            self.rules.len(),
            self.pages.join(", "),
            self.rules.iter().cloned().collect::<Vec<_>>().join(" ")
        );
        assert!(
            self.failures.is_empty(),
            "{} accessibility violations:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
    }
}

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

/// Wait (at most 10 s) until the document has loaded completely.
async fn wait_loaded(c: &fantoccini::Client) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let state = c.execute("return document.readyState", vec![]).await;
        if matches!(state, Ok(Value::String(ref s)) if s == "complete") {
            return;
        }
        assert!(Instant::now() < deadline, "the page did not finish loading: {state:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Real key presses, as a keyboard sends them: each key down then up.
async fn press_keys(c: &fantoccini::Client, keys: impl IntoIterator<Item = char>) {
    let mut actions = KeyActions::new("keyboard".into());
    for key in keys {
        actions = actions
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
    }
    c.perform_actions(actions).await.expect("key presses");
}

async fn press(c: &fantoccini::Client, key: Key) {
    press_keys(c, [char::from(key)]).await;
}

/// What the focused element shows: its outline and whether it is on screen.
const FOCUSED: &str = r#"
const a = document.activeElement;
if (!a || a === document.body) return null;
const s = getComputedStyle(a), r = a.getBoundingClientRect();
return {
  matches: a.matches(arguments[0]),
  html: a.outerHTML.slice(0, 120),
  outline: s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2,
  onScreen: r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0
    && r.right <= window.innerWidth && r.bottom <= window.innerHeight,
};
"#;

/// Press Tab until the element `css` has the focus (at most 60 presses), and
/// check that the focus can be seen there: an outline, on screen.
async fn tab_to(c: &fantoccini::Client, css: &str) {
    for _ in 0..60 {
        press(c, Key::Tab).await;
        let focused = c.execute(FOCUSED, vec![json!(css)]).await.expect("focused element");
        if focused["matches"] == json!(true) {
            assert_eq!(focused["outline"], json!(true), "no visible focus outline: {focused}");
            assert_eq!(
                focused["onScreen"],
                json!(true),
                "the focused element is off screen: {focused}"
            );
            return;
        }
    }
    panic!("Tab never reached {css}");
}

/// The accessible name Chromium's accessibility tree gives the element `css`
/// (WebDriver's Get Computed Label, which fantoccini does not wrap).
async fn accessible_name(c: &fantoccini::Client, driver_url: &str, css: &str) -> String {
    let session = c.session_id().await.expect("session id").expect("a session");
    let element = c.find(Locator::Css(css)).await.expect(css).element_id();
    let url = format!("{driver_url}/session/{session}/element/{element}/computedlabel");
    let label: Value = reqwest::get(url)
        .await
        .expect("computed label")
        .json()
        .await
        .expect("JSON");
    label["value"].as_str().expect("a label").to_owned()
}

/// Whether the page fits the viewport's width: no sideways scrolling, and
/// every visible control within the width.
const FITS: &str = r#"
const w = document.documentElement.clientWidth;
const outside = [...document.querySelectorAll("a, button, input, textarea, h1, h2, p")]
  .filter(e => !e.matches(".skip, [type=hidden]"))
  .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && (r.left < -0.5 || r.right > w + 0.5); })
  .map(e => e.outerHTML.slice(0, 100));
return { width: w, scrollWidth: document.documentElement.scrollWidth, outside };
"#;

/// Resize the viewport to `width`×`height` CSS pixels, check that the home
/// page still fits, and save a screenshot as `name`.
async fn check_layout(c: &fantoccini::Client, audits: &mut Audits, width: u32, height: u32, name: &str) {
    // The window is larger than the page's viewport by the browser's own bars.
    let bars = c
        .execute("return window.outerHeight - window.innerHeight", vec![])
        .await
        .expect("window bars");
    let bars = u32::try_from(bars.as_u64().unwrap_or(0)).unwrap_or(0);
    c.set_window_size(width, height + bars).await.expect("window size");
    c.refresh().await.expect("reload");
    wait_loaded(c).await;
    let fits = c.execute(FITS, vec![]).await.expect("layout");
    let inner = fits["width"].as_u64().expect("width");
    assert!(
        inner <= u64::from(width),
        "the viewport is {inner} px wide, not {width}: {fits}"
    );
    assert!(
        fits["scrollWidth"].as_u64() <= Some(inner),
        "the page scrolls sideways at {width} px: {fits}"
    );
    assert_eq!(fits["outside"], json!([]), "outside the viewport at {width} px: {fits}");
    for css in [
        "#q",
        "#text",
        ".compose button[type=submit]",
        "nav form[action='/logout/'] button",
    ] {
        let shown = c
            .find(Locator::Css(css))
            .await
            .expect(css)
            .is_displayed()
            .await
            .expect("displayed");
        assert!(shown, "{css} is not shown at {width} px");
    }
    audits.check(c, &format!("home at {width}x{height}")).await;
    // axe scrolls to what it checks: show the top of the page.
    c.execute("window.scrollTo(0, 0)", vec![]).await.expect("scroll");
    save_screenshot(c, name).await;
}

async fn save_screenshot(c: &fantoccini::Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    let dir = target_dir().join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    std::fs::write(dir.join(name), &png).expect("write screenshot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_uses_mythoughts_in_a_real_browser() {
    let (Some(driver_path), Some(chromium)) = (find("chromedriver"), find("chromium")) else {
        assert!(
            !in_ci(),
            "CI must run the browser test: install chromium and chromium-driver"
        );
        eprintln!("skipped: chromium and chromedriver are not installed (apt-get install chromium chromium-driver)");
        return;
    };
    let mut audits = tokio::task::spawn_blocking(Audits::new).await.expect("fetch axe-core");
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

    // A second frontend in front of the same users service and a thoughts
    // service that is not there: its pages are the degraded (503) ones.
    // Cookies do not tell ports apart, so the browser's session works there.
    let (_, public_key) = mythoughts::keys::paths(&data.path().join("keys"));
    let degraded = frontend::Application::build(frontend::Config::local(&users, "http://127.0.0.1:9", public_key))
        .await
        .expect("degraded frontend");
    let degraded_base = format!("http://127.0.0.1:{}", degraded.port());
    tokio::spawn(degraded.run_until_stopped(shutdown.clone()));

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

    // The audits run under the pages' CSP: scripts injected over WebDriver
    // are not subject to it (Chromium), the page's own inline scripts are.
    let csp = reqwest::get(format!("{base}/login/")).await.expect("sign-in page");
    let csp = csp.headers()["content-security-policy"].to_str().expect("ASCII");
    assert!(csp.contains("script-src 'self'"), "{csp}");

    // Signed out, home leads to the sign-in page; sign up from there.
    c.goto(&base).await.expect("goto");
    wait_for_path(&c, "/login/").await;
    audits.check(&c, "sign-in").await;
    click(&c, "a[href='/signup/']").await;
    wait_for_path(&c, "/signup/").await;
    audits.check(&c, "sign-up").await;
    // A taken name: the form comes back with the error beside the field.
    fill(&c, "#username", "ada").await;
    fill(&c, "#password", "a long enough password").await;
    click(&c, "form.stack button[type=submit]").await;
    let taken = text_when(&c, |t| t.contains("This username is taken")).await;
    assert!(taken.contains("This username is taken"), "{taken}");
    audits.check(&c, "sign-up with errors").await;
    fill(&c, "#username", "browser").await;
    fill(&c, "#password", "a long enough password").await;
    click(&c, "form.stack button[type=submit]").await;
    wait_for_path(&c, "/").await;
    assert!(body_text(&c).await.contains("@browser"));
    audits.check(&c, "home, nothing shared yet").await;

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
    audits.check(&c, "home with thoughts").await;
    // The names a screen reader announces, from the browser's accessibility tree.
    for (css, name) in [
        ("#q", "Search thoughts"),
        ("#text", "What are you thinking?"),
        ("ol.thoughts li:first-child button.danger", "Delete this thought"),
    ] {
        assert_eq!(accessible_name(&c, &driver_url, css).await, name, "{css}");
    }

    // Screenshots of the home page, as evidence: as it is, at 200 % zoom
    // (a 1100×900 window zoomed to 200 % lays out in 550×450 CSS pixels)
    // and on a 360-pixel-wide phone.
    c.goto(&base).await.expect("home");
    wait_loaded(&c).await;
    save_screenshot(&c, "home.png").await;
    check_layout(&c, &mut audits, 550, 450, "home-zoom200.png").await;
    check_layout(&c, &mut audits, 360, 720, "home-360.png").await;
    c.set_window_size(1100, 900).await.expect("window size");
    c.goto(&base).await.expect("home");

    // Search from the header box.
    fill(&c, "#q", "REAL BROWSER").await;
    click(&c, "form.search button").await;
    wait_for_path(&c, "/search").await;
    let results = body_text(&c).await;
    assert!(results.contains("Hello from a real browser!"), "{results}");
    assert!(!results.contains("Search is served"), "{results}");
    audits.check(&c, "search with results").await;
    fill(&c, "#q", "nothing like this anywhere").await;
    click(&c, "form.search button").await;
    let none = text_when(&c, |t| t.contains("No thought contains")).await;
    assert!(none.contains("No thought contains"), "{none}");
    audits.check(&c, "search without results").await;
    c.goto(&format!("{base}/search")).await.expect("search page");
    audits.check(&c, "search, no query").await;

    // The author's page, then delete a thought there... from the home page.
    c.goto(&base).await.expect("home");
    click(&c, "a[href='/users/browser/']").await;
    wait_for_path(&c, "/users/browser/").await;
    assert!(body_text(&c).await.contains("Search is served by an index"));
    audits.check(&c, "own user page").await;
    c.goto(&format!("{base}/users/ada/")).await.expect("ada");
    assert!(body_text(&c).await.contains("@ada"));
    audits.check(&c, "another user's page").await;
    c.goto(&format!("{base}/thoughts/")).await.expect("mine");
    click(&c, "ol.thoughts li:first-child button.danger").await;
    let after = text_when(&c, |t| !t.contains("Search is served by an index")).await;
    assert!(!after.contains("Search is served by an index"), "{after}");
    assert!(after.contains("Hello from a real browser!"));

    // Error pages: 404, and the degraded frontend's 503 pages.
    c.goto(&format!("{base}/no/such/page")).await.expect("404");
    let heading = c
        .find(Locator::Css("h1"))
        .await
        .expect("h1")
        .text()
        .await
        .expect("text");
    assert_eq!(heading, "Page not found");
    audits.check(&c, "404").await;
    c.goto(&format!("{degraded_base}/")).await.expect("degraded home");
    let down = body_text(&c).await;
    assert!(down.contains("not answering right now"), "{down}");
    audits.check(&c, "home, thoughts down (503)").await;
    c.goto(&format!("{degraded_base}/search?search=browser"))
        .await
        .expect("degraded search");
    assert!(body_text(&c).await.contains("could not run"));
    audits.check(&c, "search, thoughts down (503)").await;

    // The book's sign-out address only shows a button: visiting it signs no one out.
    c.goto(&format!("{base}/logout/")).await.expect("sign-out page");
    wait_for_path(&c, "/logout/").await;
    audits.check(&c, "sign-out page").await;
    c.goto(&format!("{base}/thoughts/")).await.expect("mine");
    wait_for_path(&c, "/thoughts/").await;
    // Sign out with the header's button (a form POST with the CSRF token).
    click(&c, "nav form[action='/logout/'] button[type=submit]").await;
    wait_for_path(&c, "/login/").await;
    c.goto(&base).await.expect("home");
    wait_for_path(&c, "/login/").await;

    keyboard_journey(&c).await;

    c.close().await.expect("close session");
    shutdown.cancel();
    audits.assert_clean();
}

/// Sign in, share a thought, find it, delete it and sign out with the
/// keyboard alone (Tab, typing, Enter), on the sign-in page just loaded.
async fn keyboard_journey(c: &fantoccini::Client) {
    wait_loaded(c).await;
    // The first Tab reaches the skip link, shown when focused; Enter moves
    // the focus to the main content, so the next Tab is the first field.
    tab_to(c, "a.skip").await;
    press(c, Key::Enter).await;
    let focused = c
        .execute("return document.activeElement.id", vec![])
        .await
        .expect("focus");
    assert_eq!(
        focused,
        json!("main"),
        "the skip link moves the focus to the main content"
    );
    press(c, Key::Tab).await;
    let first = c
        .execute("return document.activeElement.id", vec![])
        .await
        .expect("focus");
    assert_eq!(first, json!("username"), "after the skip link comes the form");
    press_keys(c, "browser".chars()).await;
    tab_to(c, "#password").await;
    press_keys(c, "a long enough password".chars()).await;
    press(c, Key::Enter).await;
    wait_for_path(c, "/").await;
    assert!(body_text(c).await.contains("@browser"));

    tab_to(c, "#text").await;
    press_keys(c, "Typed on a keyboard only".chars()).await;
    tab_to(c, ".compose button[type=submit]").await;
    press(c, Key::Enter).await;
    wait_for_path(c, "/thoughts/").await;
    let page = text_when(c, |t| t.contains("Typed on a keyboard only")).await;
    assert!(page.contains("Typed on a keyboard only"), "{page}");

    tab_to(c, "#q").await;
    press_keys(c, "keyboard".chars()).await;
    press(c, Key::Enter).await;
    wait_for_path(c, "/search").await;
    let results = body_text(c).await;
    assert!(results.contains("Typed on a keyboard only"), "{results}");

    tab_to(c, "ol.thoughts li:first-child button.danger").await;
    press(c, Key::Enter).await;
    wait_for_path(c, "/thoughts/").await;
    let after = text_when(c, |t| !t.contains("Typed on a keyboard only")).await;
    assert!(!after.contains("Typed on a keyboard only"), "{after}");

    tab_to(c, "nav form[action='/logout/'] button[type=submit]").await;
    press(c, Key::Enter).await;
    wait_for_path(c, "/login/").await;
}
