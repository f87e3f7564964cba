# callosum_webhook: the reviewer notifier (synth/webhook.c), synth's only
# I/O: libcurl's multi interface on the router's libevent base. Included
# from a CMakeLists.txt; paths are relative to this file.
add_library(callosum_webhook STATIC ${CMAKE_CURRENT_LIST_DIR}/webhook.c)
target_link_libraries(callosum_webhook PUBLIC PkgConfig::LIBEVENT
	PkgConfig::LIBCURL)

# A real loop and a real HTTP receiver on 127.0.0.1, in the test itself.
callosum_unit_test(webhook callosum_webhook)
