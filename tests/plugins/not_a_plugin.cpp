// A shared library that is not a Switchboard plugin: the host must refuse it by name.
extern "C" int not_a_switchboard_plugin() { return 42; }
