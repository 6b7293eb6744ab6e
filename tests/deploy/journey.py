#!/usr/bin/env python3
"""A user's journey through the MyThoughts frontend, over HTTP, the way a
browser drives the forms (CSRF token from the page, cookies, redirects).

Used against a deployed stack (Compose in CI) in two phases, so that a
restart can happen in between:

  journey.py BASE_URL write  STATE_FILE   sign up, post, search, sign out
  journey.py BASE_URL verify STATE_FILE   sign in again: the thought is still there

Optionally `--admin-password-file F` also signs in as `admin` (the account the
users service creates from its secret). Exits non-zero with a clear message
at the first step that does not behave.
"""

import argparse
import html
import json
import re
import secrets
import sys

import requests

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class JourneyError(Exception):
    pass


def check(condition, message):
    if not condition:
        raise JourneyError(message)


class Browser:
    def __init__(self, base):
        self.base = base.rstrip("/")
        self.session = requests.Session()
        # Same-origin form posts, as a browser sends them.
        self.session.headers["Origin"] = self.base

    def get(self, path, **kwargs):
        response = self.session.get(self.base + path, timeout=10, **kwargs)
        check(response.status_code == 200, f"GET {path}: {response.status_code}")
        return response.text

    def submit(self, page, action, fields):
        """Post a form of the page at `page` to `action`; returns the final page."""
        match = CSRF.search(self.get(page))
        check(match, f"GET {page}: no CSRF token in the form")
        data = dict(fields, csrf=html.unescape(match.group(1)))
        response = self.session.post(self.base + action, data=data, timeout=10)
        check(response.status_code == 200, f"POST {action}: {response.status_code}: {response.text[:300]}")
        return response.text


def signed_in_as(page, username):
    return f"/users/{username}/" in page and 'action="/logout/"' in page


def write(browser, state):
    username = "journey" + secrets.token_hex(4)
    password = secrets.token_urlsafe(12)
    word = "compose" + secrets.token_hex(3)
    text = f"A thought that must survive a restart: {word}"

    page = browser.submit("/signup/", "/signup/", {"username": username, "password": password})
    check(signed_in_as(page, username), "after sign-up the page does not show the new account signed in")
    print(f"signed up as {username}")

    page = browser.submit("/", "/thoughts/new", {"text": text})
    check(html.escape(text, quote=False) in page, "the new thought is not on the home page")
    print("posted a thought")

    page = browser.get("/search", params={"search": word.upper()})
    check(html.escape(text, quote=False) in page, "search (other case) does not find the thought")
    print("found it by search")

    page = browser.submit("/", "/logout/", {})
    check(not signed_in_as(page, username), "the page after sign-out still shows the account")
    page = browser.get("/")
    check(not signed_in_as(page, username), "still signed in after signing out")
    print("signed out")
    state.update(username=username, password=password, text=text, word=word)


def verify(browser, state):
    page = browser.submit("/login/", "/login/", {"username": state["username"], "password": state["password"]})
    check(signed_in_as(page, state["username"]), "cannot sign in again with the same password")
    text = html.escape(state["text"], quote=False)
    check(text in browser.get("/"), "the thought posted before the restart is gone")
    check(text in browser.get("/search", params={"search": state["word"]}), "search no longer finds it")
    print(f"signed in again as {state['username']}: the thought and its search survived")


def admin(base, password_file):
    with open(password_file, encoding="utf-8") as f:
        password = f.read().strip()
    browser = Browser(base)
    page = browser.submit("/login/", "/login/", {"username": "admin", "password": password})
    check(signed_in_as(page, "admin"), "the administrator from the secret cannot sign in")
    print("administrator signed in with the password from its secret")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base")
    parser.add_argument("phase", choices=["write", "verify"])
    parser.add_argument("state")
    parser.add_argument("--admin-password-file")
    args = parser.parse_args()
    browser = Browser(args.base)
    try:
        if args.phase == "write":
            state = {}
            write(browser, state)
            with open(args.state, "w", encoding="utf-8") as f:
                json.dump(state, f)
        else:
            with open(args.state, encoding="utf-8") as f:
                verify(browser, json.load(f))
        if args.admin_password_file:
            admin(args.base, args.admin_password_file)
    except (JourneyError, requests.RequestException) as e:
        print(f"journey failed: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
