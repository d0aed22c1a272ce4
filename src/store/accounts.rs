//! Users, organisations and organisation membership.

use rusqlite::{OptionalExtension, params};

use super::{Error, Store, is_unique_violation, now_rfc3339};

/// Names that can never be a user or organisation because URLs use them.
pub const RESERVED_NAMES: &[&str] = &["api", "info", "objects", "hooks", "refs"];

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct User {
    /// Database id.
    pub id: i64,
    /// Login name (also the user's namespace).
    pub name: String,
    /// Site administrator: full access everywhere.
    pub admin: bool,
    /// RFC 3339 UTC.
    pub created_at: String,
}

/// A member's role in an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Administers the organisation's repositories.
    Owner,
    /// May push to the organisation's repositories.
    Member,
}

text_enum!(Role { Owner => "owner", Member => "member" } fallback Member);

/// One membership, as listed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Member {
    /// The member's user name.
    pub user: String,
    /// Their role.
    pub role: Role,
}

/// An organisation with its members.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Org {
    /// Database id.
    pub id: i64,
    /// Name (also the organisation's namespace).
    pub name: String,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// Members, sorted by name.
    pub members: Vec<Member>,
}

/// What a namespace name belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerKind {
    /// A user's own namespace.
    User,
    /// An organisation's namespace.
    Org,
}

/// Check a user or organisation name: the repository naming rules, and not a reserved word.
pub fn validate_owner_name(what: &'static str, name: &str) -> Result<(), Error> {
    crate::core::names::validate_component(what, name)
        .map_err(|e| Error::Invalid(e.to_string()))?;
    if RESERVED_NAMES.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(Error::Invalid(format!("{what} {name:?} is reserved")));
    }
    Ok(())
}

fn insert_owner(
    tx: &rusqlite::Transaction<'_>,
    name: &str,
    kind: &str,
    admin: bool,
) -> Result<i64, Error> {
    // Unique regardless of case, as on GitHub: `ALICE` beside `alice` would make URLs
    // ambiguous. Checked inside the write transaction, so two creations cannot race past it.
    let taken: Option<String> = tx
        .query_row(
            "SELECT name FROM owners WHERE name = ?1 COLLATE NOCASE LIMIT 1",
            [name],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(taken) = taken {
        return Err(Error::Conflict(if taken == name {
            format!("the name {name:?} is already taken by a user or organisation")
        } else {
            format!(
                "the name {name:?} is already taken by a user or organisation as {taken:?} (names are unique regardless of case)"
            )
        }));
    }
    tx.execute(
        "INSERT INTO owners (name, kind, is_admin, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![name, kind, admin, now_rfc3339()],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            Error::Conflict(format!(
                "the name {name:?} is already taken by a user or organisation"
            ))
        } else {
            e.into()
        }
    })?;
    Ok(tx.last_insert_rowid())
}

fn user_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        name: r.get(1)?,
        admin: r.get(2)?,
        created_at: r.get(3)?,
    })
}

impl Store {
    /// Create a user.
    pub fn add_user(&mut self, name: &str, admin: bool) -> Result<User, Error> {
        validate_owner_name("user name", name)?;
        self.write(|tx| {
            let id = insert_owner(tx, name, "user", admin)?;
            Ok(tx.query_row(
                "SELECT id, name, is_admin, created_at FROM owners WHERE id = ?1",
                [id],
                user_from_row,
            )?)
        })
    }

    /// All users, by name.
    pub fn users(&self) -> Result<Vec<User>, Error> {
        let mut st = self.conn().prepare(
            "SELECT id, name, is_admin, created_at FROM owners WHERE kind = 'user' ORDER BY name",
        )?;
        let rows = st.query_map([], user_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The user called `name`, if any.
    pub fn user(&self, name: &str) -> Result<Option<User>, Error> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id, name, is_admin, created_at FROM owners
                 WHERE kind = 'user' AND name = ?1 COLLATE NOCASE ORDER BY name = ?1 DESC LIMIT 1",
                [name],
                user_from_row,
            )
            .optional()?)
    }

    /// The user with database id `id`, if any (and if it is a user, not an organisation).
    pub fn user_by_id(&self, id: i64) -> Result<Option<User>, Error> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id, name, is_admin, created_at FROM owners WHERE kind = 'user' AND id = ?1",
                [id],
                user_from_row,
            )
            .optional()?)
    }

    /// The user called `name`, or a clear "no such user" error.
    pub fn require_user(&self, name: &str) -> Result<User, Error> {
        self.user(name)?
            .ok_or_else(|| Error::NotFound(format!("no user named {name:?}")))
    }

    /// Delete a user with their tokens, keys, grants and memberships. Refused while they own
    /// repositories: those would be left without an owner.
    pub fn remove_user(&mut self, name: &str) -> Result<(), Error> {
        self.write(|tx| {
            let id = Store::user_id(tx, name)?;
            let stored: String =
                tx.query_row("SELECT name FROM owners WHERE id = ?1", [id], |r| r.get(0))?;
            let owned: i64 = tx.query_row(
                "SELECT COUNT(*) FROM repos WHERE namespace = ?1",
                [&stored],
                |r| r.get(0),
            )?;
            if owned > 0 {
                return Err(Error::Conflict(format!(
                    "user {name} owns {owned} repositories; remove them first (hubctl repo rm)"
                )));
            }
            tx.execute("DELETE FROM owners WHERE id = ?1", [id])?;
            Ok(())
        })
    }

    /// Create an organisation.
    pub fn add_org(&mut self, name: &str) -> Result<Org, Error> {
        validate_owner_name("organisation name", name)?;
        let id = self.write(|tx| insert_owner(tx, name, "org", false))?;
        Ok(self
            .orgs()?
            .into_iter()
            .find(|o| o.id == id)
            .expect("just inserted"))
    }

    /// All organisations with their members, by name.
    pub fn orgs(&self) -> Result<Vec<Org>, Error> {
        let mut st = self
            .conn()
            .prepare("SELECT id, name, created_at FROM owners WHERE kind = 'org' ORDER BY name")?;
        let mut orgs: Vec<Org> = st
            .query_map([], |r| {
                Ok(Org {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    created_at: r.get(2)?,
                    members: Vec::new(),
                })
            })?
            .collect::<Result<_, _>>()?;
        let mut st = self.conn().prepare(
            "SELECT m.org_id, u.name, m.role FROM org_members m JOIN owners u ON u.id = m.user_id ORDER BY u.name",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        for row in rows {
            let (org_id, user, role) = row?;
            if let Some(o) = orgs.iter_mut().find(|o| o.id == org_id) {
                o.members.push(Member {
                    user,
                    role: Role::parse(&role),
                });
            }
        }
        Ok(orgs)
    }

    fn org_id(tx: &rusqlite::Connection, org: &str) -> Result<i64, Error> {
        tx.query_row(
            "SELECT id FROM owners WHERE kind = 'org' AND name = ?1 COLLATE NOCASE
             ORDER BY name = ?1 DESC LIMIT 1",
            [org],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(|| Error::NotFound(format!("no organisation named {org:?}")))
    }

    /// The id of the user called `user`, or a "no such user" error.
    pub(crate) fn user_id(tx: &rusqlite::Connection, user: &str) -> Result<i64, Error> {
        tx.query_row(
            "SELECT id FROM owners WHERE kind = 'user' AND name = ?1 COLLATE NOCASE
             ORDER BY name = ?1 DESC LIMIT 1",
            [user],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(|| Error::NotFound(format!("no user named {user:?}")))
    }

    /// Add `user` to `org` with `role`, or change their role.
    pub fn add_member(&mut self, org: &str, user: &str, role: Role) -> Result<(), Error> {
        self.write(|tx| {
            let org_id = Store::org_id(tx, org)?;
            let user_id = Store::user_id(tx, user)?;
            tx.execute(
                "INSERT INTO org_members (org_id, user_id, role) VALUES (?1, ?2, ?3)
                 ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role",
                params![org_id, user_id, role.as_str()],
            )?;
            Ok(())
        })
    }

    /// Remove `user` from `org`.
    pub fn remove_member(&mut self, org: &str, user: &str) -> Result<(), Error> {
        self.write(|tx| {
            let org_id = Store::org_id(tx, org)?;
            let user_id = Store::user_id(tx, user)?;
            let n = tx.execute(
                "DELETE FROM org_members WHERE org_id = ?1 AND user_id = ?2",
                params![org_id, user_id],
            )?;
            if n == 0 {
                return Err(Error::NotFound(format!("{user} is not a member of {org}")));
            }
            Ok(())
        })
    }

    /// Whether `name` is a user or an organisation.
    pub fn owner_kind(&self, name: &str) -> Result<Option<OwnerKind>, Error> {
        let kind: Option<String> = self
            .conn()
            .query_row(
                "SELECT kind FROM owners WHERE name = ?1 COLLATE NOCASE
                 ORDER BY name = ?1 DESC LIMIT 1",
                [name],
                |r| r.get(0),
            )
            .optional()?;
        Ok(kind.map(|k| {
            if k == "org" {
                OwnerKind::Org
            } else {
                OwnerKind::User
            }
        }))
    }

    /// `user_id`'s role in the organisation called `org`, if they are a member.
    pub fn org_role(&self, org: &str, user_id: i64) -> Result<Option<Role>, Error> {
        let role: Option<String> = self
            .conn()
            .query_row(
                "SELECT m.role FROM org_members m JOIN owners o ON o.id = m.org_id
                 WHERE o.kind = 'org' AND o.name = ?1 COLLATE NOCASE AND m.user_id = ?2
                 ORDER BY o.name = ?1 DESC LIMIT 1",
                params![org, user_id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(role.map(|r| Role::parse(&r)))
    }

    /// The stored spelling of the user or organisation `name`, looked up regardless of case
    /// (the exact spelling first, should a clash from before names were unique remain).
    pub fn owner_name(&self, name: &str) -> Result<Option<String>, Error> {
        Ok(self
            .conn()
            .query_row(
                "SELECT name FROM owners WHERE name = ?1 COLLATE NOCASE
                 ORDER BY name = ?1 DESC LIMIT 1",
                [name],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Names that differ only in case, left from before names were unique regardless of case:
    /// user and organisation names, then repository names (`NS/NAME`). Each group is listed
    /// with every spelling; nothing is merged, since only the operator can tell which is meant.
    pub fn case_clashes(&self) -> Result<Vec<Vec<String>>, Error> {
        let mut out = Vec::new();
        for sql in [
            "SELECT group_concat(name, char(10)) FROM owners
             GROUP BY name COLLATE NOCASE HAVING COUNT(*) > 1",
            "SELECT group_concat(namespace || '/' || name, char(10)) FROM repos
             GROUP BY namespace COLLATE NOCASE, name COLLATE NOCASE HAVING COUNT(*) > 1",
        ] {
            let mut st = self.conn().prepare(sql)?;
            let rows = st.query_map([], |r| r.get::<_, String>(0))?;
            for row in rows {
                let mut names: Vec<String> = row?.lines().map(str::to_string).collect();
                names.sort();
                out.push(names);
            }
        }
        Ok(out)
    }
}
