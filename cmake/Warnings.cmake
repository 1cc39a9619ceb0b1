# Project-wide warning flags, applied per target through hype_add_library / hype_target_defaults.
function(hype_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow=local
    -Wnon-virtual-dtor -Wno-missing-field-initializers)
  if(HYPE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  target_compile_definitions(${target} PRIVATE BOOST_ASIO_NO_DEPRECATED BOOST_ASIO_DISABLE_STD_ALIGNED_ALLOC)
endfunction()

# One library per module folder: hype_add_library(core SOURCES ... DEPS ... PUBLIC_DEPS ...)
function(hype_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PUBLIC_DEPS" ${ARGN})
  add_library(hype_${name} STATIC ${ARG_SOURCES})
  target_include_directories(hype_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(hype_${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_DEPS})
  hype_target_defaults(hype_${name})
endfunction()
