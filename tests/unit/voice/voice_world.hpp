// What the voice unit tests run against: a real ChatService on a throwaway SQLite store, the
// in-process Coordinator, EventBus, Placement and mode coordinator, and a VoiceService wired
// to them as src/app wires it (the app passes every seam in; so do the tests). One guild
// owned by `owner_`, and its voice channel.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "auth/tokens.hpp"
#include "chat/chat_service.hpp"
#include "cluster/coordinator.hpp"
#include "cluster/event_bus.hpp"
#include "cluster/event_log.hpp"
#include "cluster/mode_coordinator.hpp"
#include "cluster/placement.hpp"
#include "store/store.hpp"
#include "voice/voice_service.hpp"
#include "wire/events.hpp"

namespace hype::testing {

class VoiceWorld : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("hype-voice-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir_);
    store_ = store::open_store("sqlite://" + (dir_ / "t.db").string(), 2);
    store_->migrate();
    bus_ = cluster::make_local_event_bus();
    coord_ = cluster::make_local_coordinator();
    placement_ = cluster::make_local_placement();
    modes_ = cluster::make_local_mode_coordinator({"auto", 8, 60000});
    chat_ =
        std::make_unique<chat::ChatService>(*store_, ids_, *bus_, *coord_, wire::encode_event_body);
    events_ = cluster::make_memory_event_log();
    voice_ = std::make_unique<voice::VoiceService>(*chat_, *coord_, *placement_, *modes_, signer_,
                                                   voice::VoiceOptions{},
                                                   voice::VoiceEventSink{events_.get(), &ids_});
    owner_ = user("owner");
    guild_ = chat_->create_guild(owner_, "guild").id;
    for (auto& c : store_->list_channels(guild_))
      if (c.kind == store::ChannelKind::voice) voice_channel_ = c.id;
  }
  void TearDown() override {
    voice_.reset();
    chat_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  Id user(const std::string& name) {
    Id id = ids_.next();
    store_->create_user({id, name, "$argon2id$v=19$not-used", 1});
    return id;
  }

  std::filesystem::path dir_;
  SnowflakeGenerator ids_{1};
  auth::VoiceTokenSigner signer_{std::string(32, 'v')};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<cluster::EventBus> bus_;
  std::unique_ptr<cluster::Coordinator> coord_;
  std::unique_ptr<cluster::Placement> placement_;
  std::unique_ptr<cluster::ModeCoordinator> modes_;
  std::unique_ptr<chat::ChatService> chat_;
  std::unique_ptr<cluster::EventLog> events_;  // voice events (in memory)
  std::unique_ptr<voice::VoiceService> voice_;
  Id owner_ = 0, guild_ = 0, voice_channel_ = 0;
};

}  // namespace hype::testing
