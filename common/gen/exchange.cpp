#include "gen/exchange.hpp"

#include <string>

#include "core/error.hpp"

namespace ppi::gen {

Exchange::Exchange(const Roles& roles, Mesh& mesh)
    : roles_(roles),
      mesh_(mesh),
      outgoing_(roles.group_size(roles.next_group())),
      incoming_(roles.group_size(roles.prev_group())),
      cursor_(incoming_.size(), 0) {}

Exchange::~Exchange() {
  for (Bytes& b : outgoing_) cleanse(b);
  for (Bytes& b : incoming_) cleanse(b);
}

void Exchange::post(std::uint64_t count, Range mine, std::span<const u128> data,
                    std::size_t per_instance) {
  if (data.size() != mine.size() * per_instance) {
    throw Error(Errc::internal, "exchange: posted data does not match the instance range");
  }
  const int g = roles_.next_group();
  for (std::size_t m = 0; m < outgoing_.size(); ++m) {
    const Range part = intersect(mine, roles_.share_of(g, m, count));
    if (part.empty()) continue;
    const auto src = data.subspan((part.lo - mine.lo) * per_instance, part.size() * per_instance);
    Bytes& out = outgoing_[m];
    const std::size_t at = out.size();
    out.resize(at + src.size() * kU128Bytes);
    encode_u128_le(src, std::span<std::uint8_t>(out.data() + at, src.size() * kU128Bytes));
  }
}

void Exchange::send(std::uint64_t tag) {
  const int g = roles_.next_group();
  for (std::size_t m = 0; m < outgoing_.size(); ++m) {
    mesh_.send(roles_.member(g, m), tag, std::move(outgoing_[m]));
    outgoing_[m] = Bytes();
  }
}

void Exchange::receive(std::uint64_t tag) {
  const int g = roles_.prev_group();
  for (std::size_t m = 0; m < incoming_.size(); ++m) {
    incoming_[m] = mesh_.receive(roles_.member(g, m), tag);
    cursor_[m] = 0;
  }
}

void Exchange::take(std::uint64_t count, Range mine, std::span<u128> out,
                    std::size_t per_instance) {
  if (out.size() != mine.size() * per_instance) {
    throw Error(Errc::internal, "exchange: output does not match the instance range");
  }
  const int g = roles_.prev_group();
  for (std::size_t m = 0; m < incoming_.size(); ++m) {
    const Range part = intersect(mine, roles_.share_of(g, m, count));
    if (part.empty()) continue;
    const std::size_t bytes = part.size() * per_instance * kU128Bytes;
    if (incoming_[m].size() - cursor_[m] < bytes) {
      throw Error(Errc::invalid_argument, "generation: the message from member " +
                                              std::to_string(roles_.member(g, m)) +
                                              " is shorter than the plan needs");
    }
    decode_u128_le(ByteView(incoming_[m]).subspan(cursor_[m], bytes),
                   out.subspan((part.lo - mine.lo) * per_instance, part.size() * per_instance));
    cursor_[m] += bytes;
  }
}

void Exchange::check_consumed() const {
  for (std::size_t m = 0; m < incoming_.size(); ++m) {
    if (cursor_[m] != incoming_[m].size()) {
      throw Error(Errc::invalid_argument,
                  "generation: the message from member " +
                      std::to_string(roles_.member(roles_.prev_group(), m)) +
                      " is longer than the plan needs");
    }
  }
}

}  // namespace ppi::gen
