//! This process as an engine sees it: the local hub, and the hub itself for what an engine
//! reports about presence (connections of gone processes).

use super::super::local::LocalHub;
use super::super::{Hub, HubInner};
use crate::adapter::{
    AnswerSender, CallRequest, GoneConnection, Inbound, Position, PresenceRecord, Target,
};
use crate::auth::UserId;
use crate::connection::ConnectionId;
use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// The [`Inbound`] the hub hands to its adapter: the local hub, and a weak handle to the hub
/// (the adapter lives in the hub; a strong one would keep both alive for ever).
pub(crate) struct HubInbound {
    pub(crate) local: Arc<LocalHub>,
    pub(crate) hub: Weak<HubInner>,
}

impl HubInbound {
    fn hub(&self) -> Option<Hub> {
        self.hub.upgrade().map(|inner| Hub { inner })
    }
}

impl Inbound for HubInbound {
    fn deliver(&self, target: &Target, except: &[ConnectionId], text: &Utf8Bytes) -> usize {
        self.local.deliver(target, except, text)
    }

    fn call(&self, call: CallRequest, answers: AnswerSender) -> usize {
        self.local.call(call, answers)
    }

    fn deliver_recorded(
        &self,
        room: &str,
        except: &[ConnectionId],
        text: &Utf8Bytes,
        position: &Position,
    ) -> usize {
        self.local.deliver_recorded(room, except, text, position)
    }

    fn connections(&self) -> Vec<ConnectionId> {
        self.local.connection_ids()
    }

    fn connections_with_users(&self) -> Vec<(ConnectionId, Option<UserId>)> {
        self.local.connections_with_users()
    }

    fn has_members(&self, room: &str) -> bool {
        self.local.has_room(room)
    }

    fn memberships(&self) -> Vec<(String, Vec<ConnectionId>)> {
        self.local.memberships()
    }

    fn presence_meta(&self, id: &ConnectionId) -> Option<serde_json::Value> {
        self.hub()?.inner.presence.meta_if_set(id)
    }

    fn connections_gone(&self, gone: Vec<GoneConnection>) {
        let Some(hub) = self.hub() else { return };
        if !hub.inner.presence.watches() {
            return;
        }
        let mut leaves: BTreeMap<String, Vec<PresenceRecord>> = BTreeMap::new();
        for connection in gone {
            for room in connection.rooms {
                leaves
                    .entry(room)
                    .or_default()
                    .push(connection.record.clone());
            }
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            for (room, left) in leaves {
                hub.presence_changed(&room, Vec::new(), left).await;
            }
        });
    }
}
