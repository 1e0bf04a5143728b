#include "gen/generate.hpp"

#include <utility>
#include <vector>

#include "core/error.hpp"
#include "gen/item_generators.hpp"
#include "material/layout.hpp"

namespace ppi::gen {

namespace {

// The one round's tag: generate_batch sends one message per (sender, receiver) and session.
constexpr std::uint64_t kRoundTag = 1;

Finisher generate_item(BatchContext& b, const ItemRef& it) {
  switch (it.item->type.kind) {
    case material::Kind::triple:
      return generate_triples(b, it);
    case material::Kind::matrix_triple:
      return generate_matrix_triples(b, it);
    case material::Kind::weight_mask:
      return generate_weight_masks(b, it);
    case material::Kind::masked_triple:
      return generate_masked_triples(b, it);
    case material::Kind::bit_triple:
      return generate_bit_triples(b, it);
    case material::Kind::dabit:
      return generate_dabits(b, it);
    case material::Kind::trunc:
      return generate_truncs(b, it);
  }
  throw Error(Errc::internal, "generation: unknown material kind");
}

// The items with their instance ranges.
std::vector<ItemRef> walk_plan(const material::MaterialPlan& plan, const Roles& roles) {
  std::vector<ItemRef> refs;
  for (std::size_t i = 0; i < plan.items().size(); ++i) {
    const material::PlanItem& item = plan.items()[i];
    refs.push_back({i, &item, plan.offset_of(i), roles.my_share(item.count)});
  }
  return refs;
}

}  // namespace

Bytes generate_batch(const material::MaterialPlan& plan, const GroupKeys& keys,
                     const GenerationContext& context, Mesh& mesh) {
  if (mesh.parties() != keys.parties || mesh.self() != keys.self) {
    throw Error(Errc::invalid_argument,
                "generation: the mesh is member " + std::to_string(mesh.self()) + " of " +
                    std::to_string(mesh.parties()) + ", the keys member " +
                    std::to_string(keys.self) + " of " + std::to_string(keys.parties));
  }
  if (context.group_id.empty() || context.batch_id.empty() || context.model_id.empty()) {
    throw Error(Errc::invalid_argument, "generation: group, model and batch ids are required");
  }
  const Session session(keys, context.group_id);
  const material::BatchLayout layout(plan);
  const std::vector<ItemRef> items = walk_plan(plan, session.roles());
  const material::MaskPairing masks(plan, context.mask_plan ? &*context.mask_plan : nullptr);
  masks.require_all_paired();

  ShareBuffer out(layout.element_count());
  Exchange exchange(session.roles(), mesh);
  BatchContext b{session, context, out, exchange, masks};
  Components alpha;
  alpha.resize(1);
  fill_random(session, b.batch("alpha", 0), 0, alpha);
  b.alpha1 = alpha.c1[0];
  b.alpha2 = alpha.c2[0];
  if (session.roles().index_in_group() == 0) out.set_alpha(alpha.c1[0]);
  cleanse(alpha.c1.data(), sizeof(u128));
  cleanse(alpha.c2.data(), sizeof(u128));

  std::vector<Finisher> finishers;
  for (const ItemRef& it : items) {
    if (Finisher f = generate_item(b, it)) finishers.push_back(std::move(f));
  }
  exchange.send(kRoundTag);
  exchange.receive(kRoundTag);
  for (const Finisher& f : finishers) f();
  exchange.check_consumed();
  Bytes share = out.finish(session, b.batch("output-mask", 0), layout);
  cleanse(&b.alpha1, sizeof(u128));
  cleanse(&b.alpha2, sizeof(u128));
  return share;
}

}  // namespace ppi::gen
