//! The server's contract (feature `schema`): declaring pushed messages, making the AsyncAPI
//! document, and serving it at `GET /asyncapi.json`.

use super::{BoundServer, Config, Endpoint, Server, StaticFile};
use crate::contract::{self, Ask, ContractError, Push, ASYNCAPI_PATH};
use crate::handler::HandlerInfo;
use serde_json::Value;
use std::borrow::Cow;

impl Server {
    /// Declares a message the server sends on its own, so that the contract lists it: a room
    /// message or broadcast sent with [`Recipients::send`](crate::Recipients::send), a welcome
    /// sent from `on_connect` with [`Connection::send`](crate::Connection::send). `T` is the
    /// `Data`'s type; its `Type` is `T`'s name, as `send(&T)` names it (use
    /// [`pushes_as`](Server::pushes_as) for `send_as`). Declaring changes nothing that is
    /// sent. Its description in the contract is `T`'s doc comment (through `schemars`).
    ///
    /// ```
    /// /// A chat line, sent to the room's members.
    /// #[derive(serde::Serialize, schemars::JsonSchema)]
    /// struct ChatLine { from: String, text: String }
    ///
    /// let server = exws::Server::with_handlers([]).pushes::<ChatLine>();
    /// let contract = server.asyncapi().unwrap();
    /// assert_eq!(contract["operations"]["push.ChatLine"]["action"], "send");
    /// ```
    pub fn pushes<T: schemars::JsonSchema + ?Sized>(self) -> Self {
        self.pushes_as::<T>(crate::protocol::message_type_name::<T>())
    }

    /// Declares a message the server sends on its own with the `Type` `message_type`, as
    /// `send_as(message_type, &T)` sends it. See [`pushes`](Server::pushes).
    pub fn pushes_as<T: schemars::JsonSchema + ?Sized>(
        mut self,
        message_type: impl Into<Cow<'static, str>>,
    ) -> Self {
        fn schema_of<T: ?Sized + schemars::JsonSchema>(
            generator: &mut schemars::SchemaGenerator,
        ) -> schemars::Schema {
            generator.subschema_for::<T>()
        }
        self.config.contract.pushes.push(Push {
            message_type: message_type.into(),
            schema: schema_of::<T>,
            rust_type: std::any::type_name::<T>(),
        });
        self
    }

    /// Declares a call the server makes to its clients ([`Connection::call`] or
    /// [`Recipients::call`] with a `Req`), so that the contract lists it with its answer: an
    /// operation `ask.<Type>` whose request carries `Call` and whose replies are the client's
    /// `Answer` (with `Resp` as `Data`) and `AnswerError`. `Req`'s `Type` is its name, as
    /// `call(&Req)` names it (use [`asks_as`](Server::asks_as) for `call_as`). The browser
    /// client's generated `Contract` then types `client.answer(type, ...)`. Declaring changes
    /// nothing that is sent.
    ///
    /// [`Connection::call`]: crate::Connection::call
    /// [`Recipients::call`]: crate::Recipients::call
    ///
    /// ```
    /// /// Asks the client to confirm a payment.
    /// #[derive(serde::Serialize, schemars::JsonSchema)]
    /// struct ConfirmPayment { amount_cents: u64 }
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct Confirmation { accepted: bool }
    ///
    /// let server = exws::Server::with_handlers([]).asks::<ConfirmPayment, Confirmation>();
    /// let contract = server.asyncapi().unwrap();
    /// assert_eq!(contract["operations"]["ask.ConfirmPayment"]["action"], "send");
    /// ```
    pub fn asks<Req, Resp>(self) -> Self
    where
        Req: schemars::JsonSchema + ?Sized,
        Resp: schemars::JsonSchema + ?Sized,
    {
        self.asks_as::<Req, Resp>(crate::protocol::message_type_name::<Req>())
    }

    /// Declares a call the server makes with the `Type` `message_type`, as
    /// `call_as(message_type, &Req, timeout)` makes it. See [`asks`](Server::asks).
    pub fn asks_as<Req, Resp>(mut self, message_type: impl Into<Cow<'static, str>>) -> Self
    where
        Req: schemars::JsonSchema + ?Sized,
        Resp: schemars::JsonSchema + ?Sized,
    {
        fn schema_of<T: ?Sized + schemars::JsonSchema>(
            generator: &mut schemars::SchemaGenerator,
        ) -> schemars::Schema {
            generator.subschema_for::<T>()
        }
        self.config.contract.asks.push(Ask {
            message_type: message_type.into(),
            request: schema_of::<Req>,
            answer: schema_of::<Resp>,
        });
        self
    }

    /// The contract's `info.title` and `info.version` (default: "exws server", "0.0.0"), e.g.
    /// `.contract_info(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"))`.
    pub fn contract_info(mut self, title: impl Into<String>, version: impl Into<String>) -> Self {
        self.config.contract.info = Some((title.into(), version.into()));
        self
    }

    /// Serves the contract ([`asyncapi`](Server::asyncapi)) as JSON at plain HTTP
    /// `GET /asyncapi.json` on the server's port. [`bind`](Server::bind) and
    /// [`build`](Server::build) fail with [`Error::Contract`](crate::Error::Contract) when
    /// the document cannot be made. Mounted in axum, route it yourself with
    /// `Endpoint::asyncapi_route` (features `schema` and `axum`).
    pub fn serve_asyncapi(mut self) -> Self {
        self.config.contract.serve = true;
        self
    }

    /// The server's contract: an AsyncAPI 3.0 document with one channel (the endpoint), an
    /// operation per request `Type` with its replies, the stream operations, the declared
    /// pushed messages, the `Error` envelope with its codes, and the JSON Schema of every
    /// `Data`. Fails, naming every one, when some handler's request or reply type has no
    /// `schemars::JsonSchema`.
    ///
    /// ```
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(Deserialize, schemars::JsonSchema)]
    /// struct CalculateRequest { numbers: Vec<i64> }
    /// #[derive(Serialize, schemars::JsonSchema)]
    /// struct CalculateResponse { result: i64 }
    ///
    /// /// Adds the numbers.
    /// #[exws::message]
    /// async fn calculate(request: CalculateRequest) -> CalculateResponse {
    ///     CalculateResponse { result: request.numbers.iter().sum() }
    /// }
    ///
    /// let contract = exws::Server::with_handlers(exws::handlers![calculate]).asyncapi().unwrap();
    /// assert_eq!(contract["asyncapi"], "3.0.0");
    /// let operation = &contract["operations"]["call.CalculateRequest"];
    /// assert_eq!(operation["description"], "Adds the numbers.");
    /// assert_eq!(
    ///     contract["components"]["schemas"]["CalculateResponse"]["required"],
    ///     serde_json::json!(["result"])
    /// );
    /// ```
    pub fn asyncapi(&self) -> Result<Value, ContractError> {
        contract::document(&self.handlers(), &self.config.contract)
    }
}

impl Endpoint {
    /// The contract of this endpoint, as [`Server::asyncapi`] makes it.
    pub fn asyncapi(&self) -> Result<Value, ContractError> {
        contract::document(&self.handlers(), &self.shared().config.contract)
    }
}

impl BoundServer {
    /// The contract of this server, as [`Server::asyncapi`] makes it.
    pub fn asyncapi(&self) -> Result<Value, ContractError> {
        self.endpoint().asyncapi()
    }
}

/// At start-up: with [`Server::serve_asyncapi`], the document as a file at `/asyncapi.json`.
pub(crate) fn publish(
    mut config: Config,
    handlers: &[&'static HandlerInfo],
) -> Result<Config, ContractError> {
    if config.contract.serve {
        let document = contract::document(handlers, &config.contract)?;
        let body = serde_json::to_vec_pretty(&document).unwrap_or_default();
        config.static_files.insert(
            ASYNCAPI_PATH.to_owned(),
            StaticFile {
                content_type: "application/json".into(),
                body: body.into(),
            },
        );
    }
    Ok(config)
}

#[cfg(feature = "axum")]
impl Endpoint {
    /// A `GET` route of an axum app answering with this endpoint's contract as JSON, e.g.
    /// `Router::new().route("/ws", endpoint.axum_route()).route("/asyncapi.json",
    /// endpoint.asyncapi_route())`. The document is made once, here.
    pub fn asyncapi_route<S>(&self) -> Result<::axum::routing::MethodRouter<S>, ContractError>
    where
        S: Clone + Send + Sync + 'static,
    {
        let body = serde_json::to_string_pretty(&self.asyncapi()?).unwrap_or_default();
        Ok(::axum::routing::get(move || {
            let body = body.clone();
            async move {
                (
                    [(::axum::http::header::CONTENT_TYPE, "application/json")],
                    body,
                )
            }
        }))
    }
}
