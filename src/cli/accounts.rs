//! `hubctl user ...`, `hubctl org ...` and `hubctl token ...`.

use clap::Subcommand;

use super::*;

/// `hubctl user ...`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user (and their namespace).
    Add {
        /// User name: letters, digits, '.', '_', '-'.
        name: String,
        /// Site administrator: full access to every repository.
        #[arg(long)]
        admin: bool,
    },
    /// List users.
    #[command(after_long_help = USER_JSON)]
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete a user with their tokens and grants (refused while they own repositories).
    Rm {
        /// User name.
        name: String,
    },
}

/// `hubctl org ...`
#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organisation (and its namespace).
    Add {
        /// Organisation name.
        name: String,
    },
    /// List organisations and their members.
    #[command(after_long_help = ORG_JSON)]
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Manage members.
    Member {
        /// Member command.
        #[command(subcommand)]
        command: OrgMemberCommand,
    },
}

/// `hubctl org member ...`
#[derive(Debug, Subcommand)]
pub enum OrgMemberCommand {
    /// Add a user to an organisation, or change their role.
    Add {
        /// Organisation.
        org: String,
        /// User.
        user: String,
        /// owner (admin on the organisation's repositories) or member (write).
        #[arg(long, value_enum, default_value = "member")]
        role: RoleArg,
    },
    /// Remove a user from an organisation.
    Rm {
        /// Organisation.
        org: String,
        /// User.
        user: String,
    },
}

/// `hubctl token ...`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (the only time it is shown).
    #[command(after_long_help = TOKEN_CREATE_JSON)]
    Create {
        /// The user the token acts as.
        #[arg(long, value_name = "NAME")]
        user: String,
        /// A label to recognise it by.
        #[arg(long, value_name = "LABEL", default_value = "cli")]
        name: String,
        /// read: clone and fetch only; write: also push.
        #[arg(long, value_enum, default_value = "write")]
        scope: ScopeArg,
        /// Lifetime, e.g. 30d, 12h, 90min, 1y; no expiry if absent. At most 100y. Units are
        /// fixed lengths: 1d is 24h, 1M is 30.44d and 1y is 365.25d (not calendar months or
        /// years).
        #[arg(long, value_name = "DURATION", value_parser = parse_expiry_arg, allow_hyphen_values = true)]
        expires: Option<std::time::Duration>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List tokens (never their secrets).
    #[command(after_long_help = TOKEN_LIST_JSON)]
    List {
        /// Only this user's tokens.
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token; it stops working with the next request.
    Revoke {
        /// The token's id (from `token list`).
        id: i64,
    },
}

const USER_JSON: &str = "JSON output (--json): an array of
  {\"id\": 1, \"name\": \"alice\", \"admin\": false, \"created_at\": \"2025-01-01T00:00:00Z\"}";

const ORG_JSON: &str = "JSON output (--json): an array of
  {\"id\": 2, \"name\": \"acme\", \"created_at\": \"2025-01-01T00:00:00Z\",
   \"members\": [{\"user\": \"alice\", \"role\": \"owner\" | \"member\"}]}";

const TOKEN_CREATE_JSON: &str = "JSON output (--json):
  {\"id\": 3, \"token\": \"hubctl_...\", \"user\": \"alice\", \"name\": \"cli\",
   \"scope\": \"read\" | \"write\", \"expires_at\": \"2025-02-01T00:00:00Z\" or null}
Without --json only the token is printed on stdout. Tokens are 256 random bits after the
prefix hubctl_; hubctl stores only their SHA-256. Use one as the HTTP password (any user name)
or as `Authorization: Bearer TOKEN`.";

const TOKEN_LIST_JSON: &str = "JSON output (--json): an array of
  {\"id\": 3, \"user\": \"alice\", \"name\": \"cli\", \"scope\": \"write\",
   \"created_at\": \"...\", \"expires_at\": null, \"expired\": false, \"last_used\": null,
   \"revoked_at\": null}
Times are RFC 3339 UTC; last_used is updated at most once a minute. expired is true once
expires_at has passed. The text listing says \"expired DATE\", \"expires DATE\", \"revoked\" or
\"active\".";

/// A member's role in an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RoleArg {
    /// Administers the organisation's repositories.
    Owner,
    /// May push to the organisation's repositories.
    Member,
}

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScopeArg {
    /// Clone and fetch only.
    Read,
    /// Clone, fetch and push (within the user's own permissions).
    Write,
}
