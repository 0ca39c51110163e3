# shmd_target_defaults(TARGET): the warning set and sanitizer flags every shmd target gets.
# Set per target, never as global flags, so generated protobuf code can be held to a laxer set.
function(shmd_target_defaults target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
    -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
    -Wnull-dereference -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
  if(SHMD_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  shmd_sanitize(${target})
endfunction()

# shmd_sanitize(TARGET): ASan+UBSan when SHMD_SANITIZE is on (the asan preset).
function(shmd_sanitize target)
  if(SHMD_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()
