//! A minimal browser over reqwest for the frontend's tests: keeps cookies,
//! does not follow redirects (so tests can see them), and reads CSRF tokens
//! out of forms.

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use std::collections::BTreeMap;

/// A cookie-keeping HTTP client of one site.
pub struct Browser {
    /// The site, e.g. `http://127.0.0.1:8000`.
    pub base: String,
    http: reqwest::Client,
    /// Cookies it holds, name to value.
    pub cookies: BTreeMap<String, String>,
}

/// One response, read whole.
pub struct Page {
    /// Its status.
    pub status: StatusCode,
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body, as text.
    pub body: String,
}

impl Page {
    /// The `Location` header of a redirect.
    pub fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok())
    }

    /// The first `Set-Cookie` line starting with `name=`.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }

    /// The value of the first hidden `csrf` field.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.body.find(marker).expect("a form with a csrf field") + marker.len();
        self.body[start..].split('"').next().expect("value").to_owned()
    }
}

impl Browser {
    /// A browser with no cookies, visiting `base`.
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self {
            base: base.to_owned(),
            http,
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn finish(&mut self, response: reqwest::Response) -> Page {
        for line in response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
        {
            let pair = line.split(';').next().unwrap_or_default();
            if let Some((k, v)) = pair.split_once('=') {
                if line.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_owned(), v.to_owned());
                }
            }
        }
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.expect("body");
        Page { status, headers, body }
    }

    /// `GET` a path of the site.
    pub async fn get(&mut self, path: &str) -> Page {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await;
        self.finish(r.expect("GET sent")).await
    }

    /// POST a form as a same-origin page would.
    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.post_with(path, form, &[("sec-fetch-site", "same-origin")]).await
    }

    /// POST a form with extra request headers (e.g. a foreign `Origin`).
    pub async fn post_with(&mut self, path: &str, form: &[(&str, &str)], headers: &[(&str, &str)]) -> Page {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .form(form);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.finish(req.send().await.expect("POST sent")).await
    }

    /// Sign up through the form; the browser ends signed in.
    pub async fn sign_up(&mut self, username: &str, password: &str) -> Page {
        let form = self.get("/signup/").await;
        let csrf = form.csrf();
        self.post(
            "/signup/",
            &[("username", username), ("password", password), ("csrf", &csrf)],
        )
        .await
    }

    /// Post a thought through the home page's form.
    pub async fn post_thought(&mut self, text: &str) -> Page {
        let home = self.get("/thoughts/").await;
        let csrf = home.csrf();
        self.post("/thoughts/new", &[("text", text), ("csrf", &csrf)]).await
    }
}
