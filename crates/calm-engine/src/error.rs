//! What can go wrong in an operation, as data. The CLI renders it.

/// An engine failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// A secret a connection refers to is not available.
    #[error("{what}: {reference} is not set")]
    MissingSecret {
        /// Which setting needs it.
        what: String,
        /// The reference, e.g. "environment variable BTP_PASSWORD".
        reference: String,
        /// How to provide it.
        help: String,
    },
    /// A connection setting is unusable.
    #[error("account `{account}`: {message}")]
    Connection {
        /// The account.
        account: String,
        /// What is wrong.
        message: String,
    },
    /// A tenant's subaccount is not in its global account.
    #[error("tenant `{tenant}`: subaccount `{subaccount}` was not found in account `{account}`")]
    SubaccountNotFound {
        /// The tenant.
        tenant: String,
        /// The subaccount as written.
        subaccount: String,
        /// The account.
        account: String,
    },
    /// The plan deletes more objects than `--max-delete` allows; nothing was changed.
    #[error(
        "the plan deletes {deletes} objects, more than --max-delete {max} allows; nothing was changed"
    )]
    TooManyDeletes {
        /// Deletions in the plan.
        deletes: usize,
        /// The limit.
        max: usize,
    },
    /// Another calmctl run holds the lease of subaccounts this run needs.
    #[error(
        "another calmctl run ({holder}) is applying to {subaccounts} of these subaccounts; its lease expires in {expires_in_secs} s unless renewed (waited {waited_secs} s); nothing was changed"
    )]
    LeaseHeld {
        /// The other run, `<host>-<pid>-<nonce>.<namespace>`.
        holder: String,
        /// Subaccounts it holds.
        subaccounts: usize,
        /// Seconds until its lease expires.
        expires_in_secs: u64,
        /// How long this run waited.
        waited_secs: u64,
    },
    /// A subaccount has as many labels as the Accounts API allows, none of them the lease: this
    /// run cannot take its lease there.
    #[error(
        "subaccount `{subaccount}` ({guid}) has {labels} labels, the most the Accounts API allows, and none is calmctl's lease (`calmctl.sap/lease`); nothing was changed"
    )]
    LeaseNoLabelRoom {
        /// Its subdomain.
        subaccount: String,
        /// Its GUID.
        guid: String,
        /// How many label keys it has.
        labels: usize,
        /// The most the Accounts API allows.
        max: usize,
    },
    /// `--tenant`, `--select` or `--key` names nothing the config has.
    #[error("{0}")]
    Targets(String),
    /// A saved plan does not fit the config or is too old; nothing was changed.
    #[error("{0}")]
    SavedPlan(String),
    /// Objects a saved plan touches changed since it was made; nothing was changed.
    #[error("refusing the saved plan: {} object(s) changed since it was made:\n  {}", changes.len(), changes.join("\n  "))]
    StalePlan {
        /// What changed, one line each.
        changes: Vec<String>,
    },
    /// The account's Cloud Management token may not make the writes the plan needs: a key of
    /// plan `central-viewer`, or a user who may only read in the global account. Nothing was
    /// changed.
    #[error("account `{account}`: {}; nothing was changed", read_only(missing, *password_grant))]
    ReadOnly {
        /// The account.
        account: String,
        /// Scopes the writes need that the token lacks.
        missing: Vec<String>,
        /// The key is for the password grant: the user's role collection is what lacks them.
        password_grant: bool,
    },
    /// A BTP API call failed.
    #[error("{context}: {source}")]
    Api {
        /// What calmctl was doing, e.g. "reading Cloud Foundry orgs in eu10".
        context: String,
        /// The API error, with status, codes and request id (boxed: it is large, and every
        /// `Result` of the engine would otherwise carry its size).
        #[source]
        source: Box<calm_btp::Error>,
    },
}

fn read_only(missing: &[String], password_grant: bool) -> String {
    let who = if password_grant {
        "the user of its cis key may only read in the global account"
    } else {
        "its cis key may only read"
    };
    format!(
        "{who} (the token lacks {}): apply writes subaccount labels, Service Manager access bindings and entitlements, which need a Cloud Management key of plan `central`{}",
        missing.join(", "),
        if password_grant {
            " and a user with the Global Account Administrator role collection"
        } else {
            ""
        }
    )
}

impl EngineError {
    /// Wraps an API error with what calmctl was doing.
    pub fn api(context: impl Into<String>) -> impl FnOnce(calm_btp::Error) -> EngineError {
        let context = context.into();
        move |source| EngineError::Api {
            context,
            source: Box::new(source),
        }
    }
}
