//! Starting the adapter: connecting to Redis, then starting the publishing queue, the
//! subscription and the sweeper, all wired to this process's [`Inbound`].

use super::adapter::Inner;
use super::publisher::{PublishLimits, Publisher};
use super::subscriber::{Subscriber, SubscriberConfig};
use super::sweeper::{self, SweeperConfig};
use crate::adapter::url::shown_url;
use crate::adapter::{AdapterError, Inbound};
use redis::aio::ConnectionManagerConfig;
use std::sync::Arc;

impl Inner {
    /// Connects (failing with a message naming the URL, its password hidden, when Redis is
    /// unreachable) and starts the adapter's tasks.
    pub(super) async fn start(&self, inbound: Arc<dyn Inbound>) -> Result<(), AdapterError> {
        let _ = self.inbound.set(inbound.clone());
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.config.command_timeout))
            .set_response_timeout(Some(self.config.command_timeout))
            .set_number_of_retries(1)
            .set_max_delay(self.config.reconnect_max);
        let commands = self
            .client
            .get_connection_manager_with_config(manager_config)
            .await
            .map_err(|error| {
                AdapterError::Unavailable(format!(
                    "cannot connect to Redis at {}: {error} (is redis-server running there? \
                         start it, or fix the URL)",
                    shown_url(&self.config.url)
                ))
            })?;
        let _ = self.commands.set(commands.clone());
        let publisher = Publisher::start(
            commands.clone(),
            PublishLimits {
                messages: self.config.publish_queue,
                bytes: self.config.publish_queue_bytes,
            },
            self.health.clone(),
        );
        let _ = self.publisher.set(publisher.clone());
        let _ = self.recorder.set(super::recorder::Recorder::start(
            commands.clone(),
            self.history_scripts.append.clone(),
            self.config.publish_queue,
            self.health.clone(),
        ));
        let subscriber = Subscriber::start(SubscriberConfig {
            client: self.client.clone(),
            commands: commands.clone(),
            inbound: inbound.clone(),
            node: self.node.clone(),
            prefix: self.config.prefix.clone(),
            reconnect_min: self.config.reconnect_min,
            reconnect_max: self.config.reconnect_max,
            command_timeout: self.config.command_timeout,
            health: self.health.clone(),
            publisher,
            routes: self.routes.clone(),
        })
        .await
        .map_err(|AdapterError::Unavailable(reason)| {
            AdapterError::Unavailable(format!(
                "{reason} (Redis at {})",
                shown_url(&self.config.url)
            ))
        })?;
        let _ = self.subscriber.set(subscriber);
        let _ = self.sweeper.set(sweeper::start(SweeperConfig {
            commands,
            scripts: self.scripts.clone(),
            inbound,
            prefix: self.config.prefix.clone(),
            node: self.node.clone(),
            interval: self.config.sweep_interval,
            command_timeout: self.config.command_timeout,
            health: self.health.clone(),
        }));
        Ok(())
    }
}
