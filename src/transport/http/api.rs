//! The HTTP API: `/api/user/keys` (the caller's own SSH keys), with the JSON shapes, fields and
//! status codes of the hub API page hubctl was specified from.

use std::io::Read;

use super::router::App;
use super::{Method, Request, Response, refusal};
use crate::access::Site;
use crate::access::authorize::Want;
use crate::access::credentials;
use crate::access::{Caller, Denial, Principal};
use crate::keys;
use crate::store::keys::KeyInfo;
use crate::store::{self, Store};

/// Largest request body the API reads.
const MAX_BODY: u64 = 64 * 1024;

fn error(status: u16, message: impl Into<String>) -> Response {
    Response::json(status, &serde_json::json!({ "error": message.into() }))
}

fn key_json(mut k: KeyInfo, with_public_key: bool) -> serde_json::Value {
    k.user = None;
    if !with_public_key {
        k.public_key = None;
    }
    serde_json::to_value(k).unwrap_or_default()
}

/// Answer a request below `/api/`.
pub fn handle(app: &App, req: &mut Request<'_>) -> Response {
    let root = match &app.site {
        Site::Hosted(root) => root.clone(),
        Site::ProjectRoot { .. } => return error(404, "not found"),
    };
    let rest = req.path.trim_end_matches('/').to_string();
    let id = match rest.as_str() {
        "/api/user/keys" => None,
        other => match other.strip_prefix("/api/user/keys/") {
            Some(id) => match id.parse::<i64>() {
                Ok(id) => Some(id),
                Err(_) => return error(404, "not found"),
            },
            None => return error(404, "not found"),
        },
    };
    let allowed = matches!(
        (id, &req.method),
        (None, Method::Get | Method::Head | Method::Post)
            | (Some(_), Method::Get | Method::Head | Method::Delete)
    );
    if !allowed {
        let allow = if id.is_none() {
            "GET, POST"
        } else {
            "GET, DELETE"
        };
        return error(
            405,
            format!("method {} is not allowed here", req.method.as_str()),
        )
        .header("Allow", allow);
    }
    let presented = req.presented(app.options.trust_remote_user);
    let principal = match credentials::authenticate(&app.site, presented) {
        Ok(p) => p,
        Err(d) => return refusal::json(&d),
    };
    req.note_user(&principal);
    let want = if matches!(req.method, Method::Post | Method::Delete) {
        Want::KeysWrite
    } else {
        Want::KeysRead
    };
    if let Err(d) = app.gate(req).account(&app.site, &principal, want) {
        return refusal::json(&d);
    }
    // The keys are the caller's own: only hubctl users have any, whatever the rule allowed.
    let Principal::User(caller) = principal else {
        return refusal::json(&Denial::Unauthenticated);
    };
    let body = if req.method == Method::Post {
        let mut buf = Vec::new();
        if let Err(e) = (&mut *req.body).take(MAX_BODY + 1).read_to_end(&mut buf) {
            return error(400, format!("reading the request body: {e}"));
        }
        if buf.len() as u64 > MAX_BODY {
            return error(
                413,
                format!("the request body is larger than {MAX_BODY} bytes"),
            );
        }
        buf
    } else {
        Vec::new()
    };
    let managed = app.options.authorized_keys_file.clone();
    let outcome = store::with_store::<_, store::Error>(&root, |s| {
        Ok(match (id, &req.method) {
            (None, Method::Post) => add(s, &root, managed.as_deref(), &caller, &body),
            (None, _) => list(s, &caller),
            (Some(id), Method::Delete) => delete(s, &root, managed.as_deref(), &caller, id),
            (Some(id), _) => show(s, &caller, id),
        })
    });
    match outcome {
        Ok(r) => r,
        Err(e) => refusal::json(&Denial::from(e)),
    }
}

fn list(store: &mut Store, caller: &Caller) -> Response {
    match store.keys(Some(&caller.user.name)) {
        Ok(keys) => Response::json(
            200,
            &serde_json::Value::Array(keys.into_iter().map(|k| key_json(k, false)).collect()),
        ),
        Err(e) => refusal::json(&Denial::from(e)),
    }
}

/// The key `id` if it belongs to the caller; otherwise the refusal (404 unknown, 403 someone
/// else's).
fn own_key(store: &Store, caller: &Caller, id: i64) -> Result<KeyInfo, Response> {
    match store.key(id) {
        Ok(Some(k)) if k.owner_id == caller.user.id => Ok(k),
        Ok(Some(_)) => Err(refusal::json(&Denial::Forbidden(
            "this key belongs to another user".into(),
        ))),
        Ok(None) => Err(error(404, "SSH key not found")),
        Err(e) => Err(refusal::json(&Denial::from(e))),
    }
}

fn show(store: &mut Store, caller: &Caller, id: i64) -> Response {
    match own_key(store, caller, id) {
        Ok(k) => Response::json(200, &key_json(k, true)),
        Err(r) => r,
    }
}

fn delete(
    store: &mut Store,
    root: &crate::core::root::Root,
    managed: Option<&std::path::Path>,
    caller: &Caller,
    id: i64,
) -> Response {
    if let Err(r) = own_key(store, caller, id) {
        return r;
    }
    match keys::remove(store, root, managed, id) {
        Ok(()) => Response::json(
            200,
            &serde_json::json!({"success": true, "message": "SSH key deleted successfully"}),
        ),
        Err(e) => service_error(e),
    }
}

#[derive(serde::Deserialize)]
struct NewKey {
    title: Option<serde_json::Value>,
    key: Option<serde_json::Value>,
}

fn add(
    store: &mut Store,
    root: &crate::core::root::Root,
    managed: Option<&std::path::Path>,
    caller: &Caller,
    body: &[u8],
) -> Response {
    let new: NewKey = match serde_json::from_slice(body) {
        Ok(v) => v,
        // Not JSON at all (or cut short) is a different mistake from JSON of the wrong shape.
        Err(e) if e.is_syntax() || e.is_eof() => {
            return error(400, format!("invalid JSON body: {e}"));
        }
        Err(e) => {
            return error(
                400,
                format!("the body must be a JSON object with \"title\" and \"key\": {e}"),
            );
        }
    };
    let Some(serde_json::Value::String(key)) = new.key else {
        return error(400, "\"key\" is required and must be a string");
    };
    let title = match new.title {
        Some(serde_json::Value::String(t)) => t,
        None | Some(serde_json::Value::Null) => {
            return error(400, "invalid title: a title is required");
        }
        Some(_) => return error(400, "\"title\" must be a string"),
    };
    match keys::add(store, root, managed, &caller.user.name, Some(&title), &key) {
        Ok(k) => Response::json(200, &key_json(k, false)),
        Err(e) => service_error(e),
    }
}

fn service_error(e: keys::Error) -> Response {
    match e {
        keys::Error::Invalid(k) => error(400, k.to_string()),
        keys::Error::Duplicate(_) => error(409, e.to_string()),
        keys::Error::Store(s) => refusal::json(&Denial::from(s)),
        keys::Error::File { .. } => {
            eprintln!("hubctl: {e}");
            error(500, e.to_string())
        }
    }
}
