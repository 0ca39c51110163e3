#pragma once
/// The body of the restart-journal fuzz target (shmd-journal-fuzz), shared with the corpus replay.

#include <cstddef>
#include <cstdint>

/// Treats `data[1..]` as the journal memfd a restarted daemon gets back from the fd store, hands
/// FdStore::restore that journal and a memfd for every segment it names (`data[0]` picks which
/// of them are the wrong size or unsealed), and aborts if anything the journal said was trusted
/// without a check: a restored segment with an invalid name, mode, id, shape or memfd, registry
/// totals that disagree, or a new segment whose id collides with a restored one. Returns 0.
int shm_journal_fuzz_one(const std::uint8_t* data, std::size_t size);
