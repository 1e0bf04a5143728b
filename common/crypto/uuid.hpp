#pragma once
#include <string>

namespace ppi {

// A random (version 4) UUID in lower case, from the CSPRNG: batch ids must not be guessable.
std::string random_uuid();

}  // namespace ppi
