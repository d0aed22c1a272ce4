//! How HTTP renders an access refusal ([`Denial`]): the status, the Basic challenge, and a text
//! or JSON body. `access` decides; this module only renders.

use super::Response;
use crate::access::{Denial, REALM};

/// The HTTP response for a refusal: text bodies for git routes, with Basic challenges. A
/// server-side failure is logged here, at the edge, with its detail.
pub fn text(denial: &Denial) -> Response {
    match denial {
        Denial::Internal(why) => eprintln!("hubctl: {why}"),
        Denial::BadCredentials(why) => eprintln!("hubctl: refused credentials: {why}"),
        _ => {}
    }
    match denial {
        Denial::Unauthenticated => Response::text(401, "authentication required")
            .header("WWW-Authenticate", format!("Basic realm=\"{REALM}\"")),
        Denial::BadCredentials(_) => Response::text(401, "invalid, expired or revoked credentials")
            .header("WWW-Authenticate", format!("Basic realm=\"{REALM}\"")),
        Denial::Challenge(challenge) => {
            Response::text(401, denial.message()).header("WWW-Authenticate", challenge.clone())
        }
        Denial::NotFound => Response::text(404, "repository not found"),
        Denial::Forbidden(why) => Response::text(403, why.clone()),
        Denial::BadRequest(why) => Response::text(400, why.clone()),
        Denial::Busy => {
            Response::text(503, "the server is busy; try again shortly").header("Retry-After", "5")
        }
        Denial::Internal(_) => Response::text(500, denial.message()),
    }
}

/// The JSON response for a refusal (the HTTP API): same statuses and challenge, with
/// `{"error": "..."}` bodies.
pub fn json(denial: &Denial) -> Response {
    let text = text(denial);
    let message = match denial {
        Denial::NotFound => "not found".to_string(),
        other => other.message(),
    };
    let mut json = Response::json(text.status, &serde_json::json!({ "error": message }));
    json.headers.extend(
        text.headers
            .into_iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case("Content-Type")),
    );
    json
}
