# gRPC and protobuf (Debian 12: libgrpc++-dev 1.51, libprotobuf-dev 3.21, protobuf-compiler-grpc)
# for the model owner <-> dealer streams, and ppi_protobuf_generate() to compile .proto files.
find_package(Protobuf 3.21 REQUIRED)
# gRPC's CMake package looks for c-ares in config mode first and says "Could NOT find c-ares"
# before finding it through its bundled module: that message is harmless.
find_package(gRPC CONFIG REQUIRED)
find_program(GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)

# ppi_protobuf_generate(OUT_VAR IMPORT_ROOT OUT_DIR PROTO...): C++ messages and gRPC stubs for
# each PROTO (a path relative to IMPORT_ROOT), written under OUT_DIR with the same relative
# path, so "proto/shares.proto" gives OUT_DIR/proto/shares.pb.h and .grpc.pb.h. The sources
# are appended to OUT_VAR.
function(ppi_protobuf_generate out_var import_root out_dir)
  set(generated)
  foreach(proto IN LISTS ARGN)
    get_filename_component(rel_dir ${proto} DIRECTORY)
    get_filename_component(name ${proto} NAME_WE)
    set(base ${out_dir}/${rel_dir}/${name})
    set(outputs ${base}.pb.cc ${base}.pb.h ${base}.grpc.pb.cc ${base}.grpc.pb.h)
    add_custom_command(
      OUTPUT ${outputs}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
      COMMAND protobuf::protoc --proto_path=${import_root} --cpp_out=${out_dir}
              --grpc_out=${out_dir} --plugin=protoc-gen-grpc=${GRPC_CPP_PLUGIN} ${proto}
      WORKING_DIRECTORY ${import_root}
      DEPENDS ${import_root}/${proto} protobuf::protoc ${GRPC_CPP_PLUGIN}
      COMMENT "Generating C++ and gRPC code from ${proto}"
      VERBATIM)
    list(APPEND generated ${outputs})
  endforeach()
  set(${out_var} ${${out_var}} ${generated} PARENT_SCOPE)
endfunction()
