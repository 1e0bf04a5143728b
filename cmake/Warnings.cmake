# Project code builds with -Wall -Wextra (and -Werror unless PPI_WERROR=OFF).
add_library(ppi_warnings INTERFACE)
target_compile_options(ppi_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wshadow -Wnon-virtual-dtor>
  $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<BOOL:${PPI_WERROR}>>:-Werror>)
