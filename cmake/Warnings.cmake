# Project-wide warning flags, applied per target through hype_add_library / hype_target_defaults.
function(hype_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic
    -Wnon-virtual-dtor -Wno-missing-field-initializers)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wshadow=local)
  endif()
  if(HYPE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  target_compile_definitions(${target} PRIVATE BOOST_ASIO_NO_DEPRECATED BOOST_ASIO_DISABLE_STD_ALIGNED_ALLOC)
endfunction()

# The build enforces the layering: a module's headers are reachable ("core/ids.hpp") only
# through an include directory holding that one module (a link to src/<module>), and a target
# gets a module's directory only by linking its library. An #include of a module the target
# does not depend on (say sfu/ from voice/) fails to compile. Tests see all of src/.
function(hype_module_include target module)
  set(inc ${CMAKE_BINARY_DIR}/module-include/${module})
  if(NOT EXISTS ${inc}/${module})
    file(MAKE_DIRECTORY ${inc})
    file(CREATE_LINK ${PROJECT_SOURCE_DIR}/src/${module} ${inc}/${module} SYMBOLIC)
  endif()
  target_include_directories(${target} ${ARGN} ${inc})
endfunction()

# One library per module folder: hype_add_library(core SOURCES ... DEPS ... PUBLIC_DEPS ...)
# DIR names the folder when it differs from the library's name (app_lib lives in src/app).
function(hype_add_library name)
  cmake_parse_arguments(ARG "" "DIR" "SOURCES;DEPS;PUBLIC_DEPS" ${ARGN})
  if(NOT ARG_DIR)
    set(ARG_DIR ${name})
  endif()
  add_library(hype_${name} STATIC ${ARG_SOURCES})
  hype_module_include(hype_${name} ${ARG_DIR} PUBLIC)
  target_link_libraries(hype_${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_DEPS})
  hype_target_defaults(hype_${name})
endfunction()
