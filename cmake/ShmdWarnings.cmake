# shmd_target_defaults(TARGET): the warning set and sanitizer flags every shmd target gets.
# Set per target, never as global flags, so generated protobuf code can be held to a laxer set.
function(shmd_target_defaults target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
    -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
    -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
  # With optimisation, GCC 12 inlines deeply enough to report false positives from inside Asio,
  # std::unordered_map and std::string: -Wnull-dereference only in unoptimised (Debug) builds,
  # and -Wrestrict off in optimised ones (GCC bug 105329).
  target_compile_options(${target} PRIVATE
    $<$<CONFIG:Debug>:-Wnull-dereference>
    $<$<AND:$<NOT:$<CONFIG:Debug>>,$<CXX_COMPILER_ID:GNU>,$<VERSION_LESS:$<CXX_COMPILER_VERSION>,13>>:-Wno-restrict>)
  if(SHMD_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  shmd_sanitize(${target})
endfunction()

# shmd_sanitize(TARGET): ASan+UBSan (SHMD_SANITIZE=ON or address, the asan preset) or TSan
# (SHMD_SANITIZE=thread, the tsan preset).
function(shmd_sanitize target)
  if(SHMD_SANITIZE_ADDRESS)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  elseif(SHMD_SANITIZE_THREAD)
    # GCC warns (-Wtsan) at every atomic_thread_fence, which TSan does not model: Asio's
    # std_fenced_block has them around each handler it runs. They order nothing between threads
    # here: the daemon runs its io_context on one thread, and the client has no Asio.
    target_compile_options(${target} PRIVATE -fsanitize=thread -fno-omit-frame-pointer
      $<$<CXX_COMPILER_ID:GNU>:-Wno-tsan>)
    target_link_options(${target} PRIVATE -fsanitize=thread)
  endif()
endfunction()
